"""Bad input through the command line: one line naming the problem and exit code 2, never a traceback;
or, where a single row is at fault, the row skipped and counted.

Each case builds its inputs in a temporary folder and runs `genmbo` in-process.
"""

import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from genmbo.cli import main
from genmbo.models.prior import SHIPPED_MOSES_PRIOR
from genmbo.resources import moses_subset_smiles

TINY = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 20, batch_size: 32}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 20, batch_size: 32}
surrogate: {members: 2, hidden_dims: [16], max_steps: 20, batch_size: 32}
search: {num_steps: 5, policy: null}  # equal guidance steps: no PGS training
run: {n_candidates: 4}
"""


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


class Payload:
    """Unpickling this runs `print`: what a malicious checkpoint would do with `os.system`."""

    def __reduce__(self):
        return (print, ("payload executed",))


def dna_csv(folder, rows=40):
    rng = np.random.default_rng(0)
    designs = ["".join(rng.choice(list("ACGT"), 6)) for _ in range(rows)]
    pd.DataFrame({"seq": designs, "y": rng.normal(size=rows)}).to_csv(folder / "dna.csv", index=False)
    return str(folder / "dna.csv")


def vectors_csv(folder, dim=3, rows=40):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(rows, dim)), columns=[f"x{i}" for i in range(dim)])
    table["f"] = rng.normal(size=rows)
    table.to_csv(folder / f"vec{dim}.csv", index=False)
    return str(folder / f"vec{dim}.csv")


def write(folder, name, content):
    path = folder / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return str(path)


def tiny(folder, extra=""):
    return write(folder, "tiny.yaml", TINY + extra)


def surrogate_checkpoint(folder, latent_dim):
    from genmbo.models.checkpoints import save_weights
    from genmbo.models.surrogates.ensemble import EnsembleSurrogate

    path = folder / f"surrogate{latent_dim}.ckpt"
    save_weights(EnsembleSurrogate(latent_dim, members=2, hidden_dims=[4]), path)
    return str(path)


def truncated_checkpoint(folder):
    data = (SHIPPED_MOSES_PRIOR / "autoencoder.ckpt").read_bytes()
    return write(folder, "truncated.ckpt", data[: len(data) // 3])


def pickled_checkpoint(folder):
    path = folder / "payload.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"space": Payload()}}, path)
    return str(path)


def dna_design(folder, *options):
    return ["design", "--data", dna_csv(folder), "--space", "sequence", "--design-col", "seq"]


# (case id, argv builder taking the folder, expected message fragment)
ONE_LINE_ERRORS = [
    ("unknown subcommand", lambda f: ["frobnicate"], "invalid choice: 'frobnicate'"),
    ("unknown option", lambda f: ["design", "--colour", "red"], "unrecognized arguments: --colour"),
    ("option missing its value", lambda f: ["design", "--task"], "argument --task: expected one argument"),
    ("non-integer seed", lambda f: ["design", "--seed", "one"], "invalid int value: 'one'"),
    (
        "unknown config key",
        lambda f: ["config", write(f, "c.yaml", "run:\n  sed: 1\n")],
        "did you mean 'run.seed'",
    ),
    (
        "wrong value type in config",
        lambda f: ["config", write(f, "c.yaml", "run:\n  n_candidates: many\n")],
        "'run.n_candidates' must be an integer, got str 'many'",
    ),
    ("config is not YAML", lambda f: ["config", write(f, "c.yaml", "run: [\n")], "not valid YAML"),
    ("config is a list", lambda f: ["config", write(f, "c.yaml", "- 1\n")], "must be a mapping"),
    ("config file missing", lambda f: ["config", str(f / "none.yaml")], "no such config file"),
    (
        "negative candidate count",
        lambda f: ["design", "--task", "tfbind8", "--n-candidates", "-5", "--out", str(f / "o")],
        "'run.n_candidates' must be >= 1, got -5",
    ),
    (
        "negative seed",
        lambda f: ["design", "--task", "tfbind8", "--seed", "-1", "--out", str(f / "o")],
        "'run.seed' must be >= 0, got -1",
    ),
    (
        "unknown task",
        lambda f: ["design", "--task", "tfbind9", "--out", str(f / "o")],
        "unknown task 'tfbind9'",
    ),
    (
        "unknown method",
        lambda f: ["design", "--task", "tfbind8", "--method", "magic", "--out", str(f / "o")],
        "unknown search method 'magic'",
    ),
    (
        "unknown method option",
        lambda f: [
            "design",
            "--task",
            "tfbind8",
            "--config",
            tiny(f, "search: {scael: 2}\n"),
            "--out",
            str(f / "o"),
        ],
        "unknown config key 'search.scael' (did you mean 'search.scale'?)",
    ),
    (
        "bad method option value",
        lambda f: [
            "design",
            "--task",
            "tfbind8",
            "--config",
            tiny(f, "search: {scale: -1}\n"),
            "--out",
            str(f / "o"),
        ],
        "scale must be >= 0",
    ),
    ("no output folder", lambda f: ["design", "--task", "tfbind8"], "name an output folder (--out DIR)"),
    (
        "output folder is a file",
        lambda f: ["design", "--task", "tfbind8", "--out", write(f, "taken", "")],
        "the output folder is a file",
    ),
    (
        "output folder cannot be created",
        lambda f: [
            "design",
            "--task",
            "tfbind8",
            "--out",
            str(f / write(f, "plain", "").split("/")[-1] / "sub"),
        ],
        "cannot create the output folder",
    ),
    (
        "task and data both",
        lambda f: ["design", "--task", "tfbind8", "--data", "x.csv", "--out", "o"],
        "not both",
    ),
    (
        "data without space",
        lambda f: ["design", "--data", "x.csv", "--out", str(f / "o")],
        "say which design space",
    ),
    (
        "missing data file",
        lambda f: [*dna_design(f), "--data", str(f / "none.csv"), "--score-col", "y", "--out", str(f / "o")],
        "no such file",
    ),
    (
        "empty data file",
        lambda f: ["design", "--data", write(f, "e.csv", ""), "--space", "sequence", "--out", str(f / "o")],
        "empty",
    ),
    (
        "binary garbage named .csv",
        lambda f: [
            "design",
            "--data",
            write(f, "g.csv", bytes(range(256)) * 8),
            "--space",
            "sequence",
            "--out",
            str(f / "o"),
        ],
        "g.csv",
    ),
    (
        "missing design column",
        lambda f: [*dna_design(f)[:5], "--design-col", "sequence", "--score-col", "y", "--out", str(f / "o")],
        "'sequence'",
    ),
    ("missing score column", lambda f: [*dna_design(f), "--score-col", "kd", "--out", str(f / "o")], "'kd'"),
    (
        "every score NaN",
        lambda f: [
            "design",
            "--data",
            write(f, "n.csv", "seq,y\nACGT,\nAGGT,nan\n"),
            "--space",
            "sequence",
            "--design-col",
            "seq",
            "--score-col",
            "y",
            "--out",
            str(f / "o"),
        ],
        "NaN",
    ),
    (
        "vector prefix matching nothing",
        lambda f: [
            "design",
            "--data",
            vectors_csv(f),
            "--space",
            "continuous",
            "--design-col",
            "z",
            "--score-col",
            "f",
            "--out",
            str(f / "o"),
        ],
        "'z'",
    ),
    (
        "pickled npy",
        lambda f: [
            "design",
            "--data",
            f"{_pickled_npy(f)},{_npy(f, 'y.npy', np.zeros(3))}",
            "--space",
            "continuous",
            "--out",
            str(f / "o"),
        ],
        "pickle",
    ),
    (
        "autoencoder checkpoint from another space",
        lambda f: [
            *dna_design(f),
            "--score-col",
            "y",
            "--config",
            tiny(f, f"prior: {{autoencoder: {{checkpoint: {SHIPPED_MOSES_PRIOR / 'autoencoder.ckpt'}}}}}\n"),
            "--out",
            str(f / "o"),
        ],
        "an autoencoder of another design space",
    ),
    (
        "surrogate checkpoint of another dimension",
        lambda f: [
            *dna_design(f),
            "--score-col",
            "y",
            "--config",
            tiny(f, f"surrogate: {{checkpoint: {surrogate_checkpoint(f, 7)}}}\n"),
            "--out",
            str(f / "o"),
        ],
        "a surrogate of 7-d latents, not 4-d",
    ),
    (
        "truncated checkpoint",
        lambda f: [
            *dna_design(f),
            "--score-col",
            "y",
            "--config",
            tiny(f, f"surrogate: {{checkpoint: {truncated_checkpoint(f)}}}\n"),
            "--out",
            str(f / "o"),
        ],
        "not a readable surrogate checkpoint",
    ),
    (
        "checkpoint with a pickled code payload",
        lambda f: [
            *dna_design(f),
            "--score-col",
            "y",
            "--config",
            tiny(f, f"surrogate: {{checkpoint: {pickled_checkpoint(f)}}}\n"),
            "--out",
            str(f / "o"),
        ],
        "refused: the checkpoint holds pickled Python objects",
    ),
    (
        "unknown structural alert catalog",
        lambda f: [
            "design",
            "--task",
            "moses-qed",
            "--config",
            tiny(f, "constraints: {structural_alerts: [PAINZ]}\n"),
            "--out",
            str(f / "o"),
        ],
        "unknown structural alert catalog 'PAINZ'",
    ),
    (
        "evaluate: library missing",
        lambda f: ["evaluate", "--task", "tfbind8", "--library", str(f / "l.csv")],
        "no such file",
    ),
    (
        "evaluate: library without a design column",
        lambda f: ["evaluate", "--task", "tfbind8", "--library", write(f, "l.csv", "smiles\nACGT\n")],
        "'design'",
    ),
    (
        "benchmark: unknown method",
        lambda f: ["benchmark", "--tasks", "tfbind8", "--methods", "pgss", "--out", str(f / "b")],
        "did you mean 'pgs'",
    ),
]


def _npy(folder, name, array):
    np.save(folder / name, array)
    return str(folder / name)


def _pickled_npy(folder):
    np.save(folder / "x.npy", np.array([{"a": 1}, {"b": 2}, {"c": 3}], dtype=object), allow_pickle=True)
    return str(folder / "x.npy")


def test_the_suite_covers_at_least_thirty_distinct_bad_inputs():
    assert len({case for case, _, _ in ONE_LINE_ERRORS}) >= 30


@pytest.mark.parametrize(
    ("case", "build", "message"), ONE_LINE_ERRORS, ids=[case for case, _, _ in ONE_LINE_ERRORS]
)
def test_bad_input_is_one_line_and_exit_code_2(case, build, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = build(tmp_path)
    # Progress bars share stderr in a terminal (and erase themselves); here only the error may be there.
    assert exit_code(argv + ["--no-progress"] if argv[0] == "design" else argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert message in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert "payload executed" not in captured.out


def test_debug_flag_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(Exception, match="unknown task"):
        main(["--debug", "design", "--task", "tfbind9", "--out", str(tmp_path / "o")])


def run_design(folder, data, options, capsys):
    argv = [
        "design",
        "--data",
        data,
        *options,
        "--config",
        tiny(folder),
        "--out",
        str(folder / "o"),
        "--no-progress",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    return json.loads((folder / "o" / "cleaning.json").read_text())


def test_bad_rows_are_skipped_and_counted(tmp_path, capsys):
    smiles = list(moses_subset_smiles()[:30])
    rows = smiles + ["C1CC", "not a molecule", "[U]", "C[Si](C)(C)C", smiles[0]]
    data = write(
        tmp_path, "mol.csv", pd.DataFrame({"smiles": rows, "y": range(len(rows))}).to_csv(index=False)
    )
    cleaning = run_design(
        tmp_path, data, ["--space", "molecules", "--design-col", "smiles", "--score-col", "y"], capsys
    )
    assert cleaning["rows_read"] == 35 and cleaning["rows_kept"] == 30
    assert cleaning["duplicates_merged"] == 1 and cleaning["rows_skipped"] == 4
    assert sum(cleaning["skipped"].values()) == 4 and len(cleaning["skipped"]) >= 2  # by reason


def test_sequences_outside_the_alphabet_and_vectors_with_nan_are_counted(tmp_path, capsys):
    table = pd.read_csv(dna_csv(tmp_path))
    table.loc[len(table)] = ["ACGXTT", 0.5]
    table.loc[len(table)] = ["ACGUTT", 0.1]
    config = "data: {alphabet: dna}\n"
    (tmp_path / "tiny.yaml").write_text(TINY + config)
    table.to_csv(tmp_path / "dna2.csv", index=False)
    argv = ["design", "--data", str(tmp_path / "dna2.csv"), "--space", "sequence", "--design-col", "seq"]
    argv += [
        "--score-col",
        "y",
        "--config",
        str(tmp_path / "tiny.yaml"),
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
    ]
    assert main(argv) == 0
    cleaning = json.loads((tmp_path / "o" / "cleaning.json").read_text())
    assert cleaning["rows_skipped"] == 2 and cleaning["rows_kept"] == 40

    vectors = pd.read_csv(vectors_csv(tmp_path))
    vectors.loc[3, "x1"] = np.nan
    vectors.loc[5, "f"] = np.inf
    vectors.to_csv(tmp_path / "v.csv", index=False)
    folder = tmp_path / "vec"
    folder.mkdir()
    options = ["--space", "continuous", "--design-col", "x", "--score-col", "f"]
    cleaning = run_design(folder, str(tmp_path / "v.csv"), options, capsys)
    assert cleaning["rows_skipped"] == 2 and cleaning["rows_kept"] == 38


def test_a_damaged_resume_checkpoint_is_set_aside_and_training_restarts(tmp_path, capsys):
    data = dna_csv(tmp_path)
    options = ["--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    run_design(tmp_path, data, options, capsys)
    last = tmp_path / "o" / "prior" / "autoencoder" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:100])
    run_design(tmp_path, data, options, capsys)
    assert (last.parent / "last.ckpt.damaged").is_file() and last.is_file()
    assert zipfile.is_zipfile(last)


def test_pickle_payload_is_never_executed_by_loading(tmp_path, capsys):
    path = pickled_checkpoint(tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert "payload executed" not in capsys.readouterr().out
