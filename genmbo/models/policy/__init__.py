"""The learned step-size policy of policy-guided gradient search (PGS) and its conservative SAC learner."""
