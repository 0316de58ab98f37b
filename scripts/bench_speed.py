"""Speed benchmarks: the main job stage by stage, sampler throughput, the fingerprint kernels against
RDKit, and how costs scale with offline data size and library size.

    python scripts/bench_speed.py --out runs/speed --campaigns     # the speed table against its targets
    python scripts/bench_speed.py --out runs/speed --main-job runs/demo/metrics.json
    python scripts/bench_speed.py --out runs/speed_quick --quick          # the version the tests run

Writes OUT/speed.json, OUT/speed.md (the tables of docs/BENCHMARKS.md) and two PNG plots
(OUT/main_job_stages.png, OUT/scaling.png). Figures are seconds and rates on the machine it runs on,
which it names in the output.

- Campaigns (`--campaigns`), each `genmbo design` as its own process, timed by wall clock with its peak
  resident memory (the largest of the process's and its helper's, `genmbo.runtime.background`): the main job
  with an empty cache (OUT/cache) and again with it filled; the filled run once more beside one CPU-bound
  process (a Python busy loop), as a ratio to the idle one; and an own-data sequence campaign of 25,000 rows
  (`sequence_campaign_data`: 40 positions over 24 letters, scored by a seeded position weight matrix with
  pairwise terms). The speed table puts each figure beside its target.
- Main job stages: the `timings` of a `genmbo design --out DIR` run's metrics.json (`--main-job`), else of
  the campaigns' filled-cache main job.
- Samplers: candidates per second, decoded, and the share of them that are valid molecules, for the
  shipped MOSES prior sampled with its default DDIM (50 steps), DPM-Solver++ (5 steps) and DDPM (1,000
  steps), for the flagship's guided DDIM (a 5-member surrogate with untrained weights: throughput does
  not depend on them), and for the VAE's own N(0, I) prior; and the default sampler stage by stage
  (`sampler_stages`), with the rate its per-molecule work (SELFIES to SMILES, RDKit) alone allows.
- Kernels: Tanimoto comparisons per second of `genmbo.metrics` (nearest offline similarity, IntDiv)
  and of RDKit's `BulkTanimotoSimilarity` on the same Morgan fingerprints (radius 2, 2,048 bits for
  novelty, 1,024 for IntDiv as in MOSES), with the largest difference between their values.
- Scaling: nearest-offline similarity of a 128-candidate library against 10k, 100k and 1M offline
  fingerprints, and IntDiv of libraries of 1k, 10k (and 100k unless `--skip-100k`) candidates. The
  fingerprints are random bit vectors with the MOSES subset's mean bit density (the kernels' cost does
  not depend on which bits are set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from genmbo.errors import InvalidDesign
from genmbo.metrics.design_distance import nearest
from genmbo.metrics.fingerprints import morgan_fingerprints, pack_bits, tanimoto_from_bits, unpack_bits
from genmbo.models.prior import SHIPPED_MOSES_PRIOR, load_prior
from genmbo.models.prior_sampling import DRAW_BATCH
from genmbo.models.surrogates.ensemble import EnsembleSurrogate
from genmbo.resources import moses_subset_smiles
from genmbo.search.guidance import SurrogateGuidance
from genmbo.search.objectives import PessimisticObjective
from genmbo.spaces import MoleculeSpace
from genmbo.spaces.molecules import canonical_smiles, selfies_smiles


def machine(device: str) -> str:
    cores = torch.get_num_threads()
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    return f"{platform.node()}: {name}, {cores} torch threads, torch {torch.__version__}"


def timed(function, repeats: int = 1):
    started = time.perf_counter()
    for _ in range(repeats):
        result = function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats, result


# A campaign's speed targets: seconds, GB, a ratio, valid molecules per second.
# The default unguided sampler of `Prior.sample_designs`, and the one whose rate is the speed target's:
# DPM-Solver++ in 5 steps with bfloat16 networks, whose samples of the shipped MOSES prior measured as
# realistic as the default's (docs/priors.md, "Samplers").
DEFAULT_SAMPLER = "latent diffusion, DDIM 50 steps"
TARGET_SAMPLER = "latent diffusion, DPM-Solver++ 5 steps, bfloat16"
TARGETS = {
    "main job, empty cache": ("wall_seconds", "<=", 60.0),
    "main job, filled cache": ("wall_seconds", "<=", 60.0),
    "main job, peak memory": ("peak_gb", "<=", 2.0),
    "main job beside one CPU-bound process": ("slowdown", "<=", 2.0),
    "25,000-row sequence campaign": ("wall_seconds", "<=", 300.0),
    "sampler (DPM-Solver++ 5 steps, bfloat16), valid molecules": ("valid_per_second", ">=", 5000.0),
}
SEQUENCE_LETTERS = "ACDEFGHIKLMNPQRSTVWYBJOU"  # 24 letters
SEQUENCE_POSITIONS = 40


def sequence_campaign_data(path: Path, rows: int = 25_000, seed: int = 0) -> None:
    """A CSV of `rows` distinct sequences (40 positions, 24 letters) and a score: a seeded position weight
    matrix plus weights on the letters of 20 seeded position pairs, with Gaussian noise."""
    generator = np.random.default_rng(seed)
    letters = len(SEQUENCE_LETTERS)
    tokens = np.unique(generator.integers(0, letters, (rows * 2, SEQUENCE_POSITIONS)), axis=0)
    tokens = tokens[generator.permutation(len(tokens))[:rows]]
    weights = generator.normal(size=(SEQUENCE_POSITIONS, letters))
    score = weights[np.arange(SEQUENCE_POSITIONS), tokens].sum(1)
    for first, second in generator.integers(0, SEQUENCE_POSITIONS, (20, 2)):
        pair_weights = generator.normal(size=(letters, letters))
        score += pair_weights[tokens[:, first], tokens[:, second]]
    score += generator.normal(scale=0.5, size=rows)
    sequences = ["".join(SEQUENCE_LETTERS[i] for i in row) for row in tokens]
    with path.open("w") as handle:
        handle.write("sequence,score\n")
        handle.writelines(f"{text},{value:.4f}\n" for text, value in zip(sequences, score, strict=True))


def timed_design(arguments: list[str], environment: dict[str, str]) -> dict:
    """Run `genmbo design ARGUMENTS` in its own process: wall seconds, peak resident GB, stage timings;
    the run's summary goes to its folder's `summary.txt`."""
    out = Path(arguments[arguments.index("--out") + 1])
    shutil.rmtree(out, ignore_errors=True)  # a run folder left from before would resume its models
    command = [sys.executable, "-m", "genmbo", "design", *arguments, "--no-progress"]
    # A wrapper process whose only child is the run, so that its children's peak is the run's.
    wrapper = (
        "import resource, subprocess, sys, time; started = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command], env=environment, capture_output=True, text=True
    )
    last_line = result.stdout.rstrip("\n").rsplit("\n", 1)[-1].split()
    if result.returncode != 0 or len(last_line) != 3 or last_line[2] != "0":
        raise RuntimeError(f"genmbo design {' '.join(arguments)} failed:\n{result.stderr[-2000:]}")
    seconds, peak_kb, _ = last_line
    # The run's own summary, less the wrapper's last line.
    (out / "summary.txt").write_text(result.stdout.rstrip("\n").rsplit("\n", 1)[0] + "\n")
    metrics = json.loads((out / "metrics.json").read_text())
    row = {
        "wall_seconds": float(seconds),
        "peak_gb": int(peak_kb) * 1024 / 1e9,  # ru_maxrss is in KiB on Linux
        "threads": metrics.get("threads"),
        "timings": metrics["timings"],
    }
    print({key: row[key] for key in ("wall_seconds", "peak_gb", "threads")}, flush=True)
    return row


def campaigns(out: Path) -> dict:
    """The main job with an empty and a filled cache, beside a busy process, and the sequence campaign."""
    environment = {**os.environ, "GENMBO_CACHE_DIR": str(out / "cache")}
    shutil.rmtree(out / "cache", ignore_errors=True)
    runs = {
        "main job, empty cache": timed_design(["--out", str(out / "main_job_cold")], environment),
        "main job, filled cache": timed_design(["--out", str(out / "main_job")], environment),
    }
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(2)  # running before the run looks for free cores
    try:
        runs["main job beside one CPU-bound process"] = timed_design(
            ["--out", str(out / "main_job_shared")], environment
        )
    finally:
        busy.kill()
        busy.wait()
    data = out / "sequence_campaign.csv"
    sequence_campaign_data(data)
    columns = ["--design-col", "sequence", "--score-col", "score"]
    runs["25,000-row sequence campaign"] = timed_design(
        ["--data", str(data), "--space", "sequence", *columns, "--out", str(out / "sequence_campaign")],
        environment,
    )
    return runs


def target_rows(results: dict) -> list[dict]:
    """Each measured figure of `TARGETS` beside its target, and whether it is met."""
    runs = results.get("campaigns", {})
    figures = {name: run["wall_seconds"] for name, run in runs.items()}
    if "main job, filled cache" in runs:
        figures["main job, peak memory"] = max(
            run["peak_gb"] for name, run in runs.items() if name.startswith("main job")
        )
    if "main job beside one CPU-bound process" in runs:
        figures["main job beside one CPU-bound process"] = (
            runs["main job beside one CPU-bound process"]["wall_seconds"]
            / runs["main job, filled cache"]["wall_seconds"]
        )
    target = [row for row in results["samplers"] if row["sampler"] == TARGET_SAMPLER]
    if target:
        figures["sampler (DPM-Solver++ 5 steps, bfloat16), valid molecules"] = target[0]["valid_per_second"]
    rows = []
    for name, (unit, sense, target) in TARGETS.items():
        if name in figures:
            value = figures[name]
            met = value <= target if sense == "<=" else value >= target
            rows.append({"figure": name, "unit": unit, "value": value, "target": f"{sense} {target:g}",
                         "met": met})  # fmt: skip
    return rows


def sampler_throughput(count: int, device: str, ddpm_count: int) -> list[dict]:
    """Each sampler's rate on `count` latents (DDPM: `ddpm_count`): the unguided ones through
    `Prior.sample_designs`, the path users call (on the CPU it splits large draws across processes), the
    guided and the N(0, I) ones as the flagship and the VAE decode them (in one process)."""
    prior = load_prior(SHIPPED_MOSES_PRIOR)
    prior.diffusion.to(device)
    prior.autoencoder.to(device)
    space = MoleculeSpace()
    surrogate = EnsembleSurrogate(prior.autoencoder.latent_dim).to(device).eval()
    objective = PessimisticObjective(surrogate, kappa=1.0)
    guidance = SurrogateGuidance(prior.diffusion, objective, scale=1.0)

    def valid_share(designs):
        valid = 0
        for design in designs:
            try:
                valid += design is not None and bool(space.parse(design))
            except InvalidDesign:
                pass
        return valid / len(designs)

    def decoded(draw):
        return lambda n, g: prior.autoencoder.decode_latents(draw(n, g))

    samplers = {
        DEFAULT_SAMPLER: (count, lambda n, g: prior.sample_designs(n, g)),
        "latent diffusion, DPM-Solver++ 5 steps": (count, lambda n, g: prior.sample_designs(n, g, "dpm")),
        TARGET_SAMPLER: (count, lambda n, g: prior.sample_designs(n, g, "dpm", precision="bfloat16")),
        "latent diffusion, DDPM 1,000 steps": (ddpm_count, lambda n, g: prior.sample_designs(n, g, "ddpm")),
        "flagship: surrogate-guided DDIM 50 steps": (
            count,
            decoded(lambda n, g: prior.diffusion.sample(n, g, sampler="ddim", guidance=guidance)),
        ),
        "VAE prior N(0, I)": (
            count,
            decoded(lambda n, g: torch.randn(n, prior.autoencoder.latent_dim, generator=g).to(device)),
        ),
    }
    # Warm-up (CUDA context, kernels, allocator) so that the first timed sampler pays no start-up cost.
    prior.sample_designs(8, torch.Generator().manual_seed(1))
    prior.sample_designs(8, torch.Generator().manual_seed(1), "dpm", precision="bfloat16")
    rows = []
    for name, (n, draw) in samplers.items():
        generator = torch.Generator().manual_seed(0)
        seconds, designs = timed(lambda draw=draw, n=n, generator=generator: draw(n, generator))
        rows.append(
            {
                "sampler": name,
                "candidates": n,
                "seconds": seconds,
                "candidates_per_second": n / seconds,
                "valid_share": valid_share(designs),
            }
        )
        rows[-1]["valid_per_second"] = rows[-1]["candidates_per_second"] * rows[-1]["valid_share"]
        print(rows[-1], flush=True)
    return rows


def sampler_stages(count: int, device: str) -> dict:
    """Seconds per 1,000 molecules of each stage of the target's sampler (DPM-Solver++, 5 steps, networks
    in bfloat16) as each of `Prior.sample_designs`'s processes runs it, on one thread in batches of
    `DRAW_BATCH`: the denoiser, the VAE's decoder network, SELFIES to SMILES (`selfies.decoder`, pure
    Python, one molecule at a time) and RDKit's parse and canonical SMILES. ``ceiling_per_second`` is
    the rate these stages allow if every process runs them at this speed side by side (on the CPU one
    process per torch thread, on a GPU one)."""
    prior = load_prior(SHIPPED_MOSES_PRIOR)
    prior.diffusion.to(device).eval()
    vae = prior.autoencoder.to(device).eval()
    cores = torch.get_num_threads()
    noise = prior.diffusion.initial_noise(count, torch.Generator().manual_seed(0))
    low_precision = torch.autocast(device, dtype=torch.bfloat16)
    torch.set_num_threads(1)
    try:
        with low_precision:
            denoise, latents = timed(
                lambda: torch.cat(
                    [
                        prior.diffusion.sample(len(batch), None, "dpm", noise=batch)
                        for batch in noise.split(DRAW_BATCH)
                    ]
                )
            )
            network, tokens = timed(
                lambda: torch.cat([vae.generate(batch).cpu() for batch in latents.split(DRAW_BATCH)])
            )
    finally:
        torch.set_num_threads(cores)
    rows = vae.space.vocabulary.decode(tokens)
    selfies_seconds, raw = timed(lambda: [selfies_smiles(row) for row in rows])
    rdkit_seconds, _ = timed(lambda: [canonical_smiles(smiles) for smiles in raw if smiles])
    per_thousand = {
        "denoise": denoise,
        "decoder network": network,
        "SELFIES to SMILES": selfies_seconds,
        "RDKit canonical SMILES": rdkit_seconds,
    }
    per_thousand = {stage: 1000 * seconds / count for stage, seconds in per_thousand.items()}
    # On the CPU the draw runs these stages in one process per core; on a GPU, in one process.
    processes = cores if device == "cpu" else 1
    ceiling = processes * 1000 / sum(per_thousand.values())
    print({"sampler stages, s per 1,000": per_thousand, "ceiling_per_second": ceiling}, flush=True)
    return {"seconds_per_1000": per_thousand, "ceiling_per_second": ceiling, "processes": processes}


def rdkit_fingerprints(smiles: list[str], bits: int):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=bits)
    return [generator.GetFingerprint(Chem.MolFromSmiles(text)) for text in smiles]


def kernels_against_rdkit(library_size: int, offline_size: int, device: str) -> list[dict]:
    smiles = list(moses_subset_smiles()[: library_size + offline_size])
    library, offline = smiles[:library_size], smiles[library_size:]
    rows = []
    # Novelty: each candidate's nearest offline similarity, 2,048 bits.
    ours_library = morgan_fingerprints(library, 2, 2048).to(device)
    ours_offline = morgan_fingerprints(offline, 2, 2048).to(device)
    nearest("tanimoto", ours_library[:2], ours_offline[:10])  # warm-up
    seconds, (values, _) = timed(lambda: nearest("tanimoto", ours_library, ours_offline), repeats=3)
    rdkit_library, rdkit_offline = rdkit_fingerprints(library, 2048), rdkit_fingerprints(offline, 2048)
    rdkit_seconds, expected = timed(
        lambda: [max(DataStructs.BulkTanimotoSimilarity(fp, rdkit_offline)) for fp in rdkit_library]
    )
    rows.append(_kernel_row("nearest offline similarity", library_size * offline_size, seconds, rdkit_seconds,
                            values.cpu().numpy(), np.array(expected)))  # fmt: skip
    # Diversity: IntDiv1 over all ordered pairs, 1,024 bits.
    packed = morgan_fingerprints(library, 2, 1024).to(device)

    def intdiv():
        bits = unpack_bits(packed)
        return 1 - tanimoto_from_bits(bits, bits).mean()

    seconds, ours = timed(intdiv, repeats=3)
    rdkit_1024 = rdkit_fingerprints(library, 1024)
    rdkit_seconds, total = timed(
        lambda: sum(sum(DataStructs.BulkTanimotoSimilarity(fp, rdkit_1024)) for fp in rdkit_1024)
    )
    rows.append(_kernel_row("IntDiv1 (all pairs)", library_size**2, seconds, rdkit_seconds,
                            np.array([float(ours)]), np.array([1 - total / library_size**2])))  # fmt: skip
    return rows


def _kernel_row(name, comparisons, seconds, rdkit_seconds, ours, expected) -> dict:
    row = {
        "kernel": name,
        "comparisons": comparisons,
        "genmbo_per_second": comparisons / seconds,
        "rdkit_per_second": comparisons / rdkit_seconds,
        "speedup_over_rdkit": rdkit_seconds / seconds,
        "max_abs_difference": float(np.abs(ours - expected).max()),
    }
    print(row, flush=True)
    return row


def random_fingerprints(count: int, bits: int, density: float, generator: torch.Generator) -> torch.Tensor:
    return pack_bits((torch.rand(count, bits, generator=generator) < density).to(torch.int64))


def scaling(offline_sizes, library_sizes, device: str, density: float) -> dict:
    generator = torch.Generator().manual_seed(0)
    library = random_fingerprints(128, 2048, density, generator).to(device)
    offline_rows = []
    for size in offline_sizes:
        reference = torch.cat(
            [
                random_fingerprints(min(100_000, size - start), 2048, density, generator)
                for start in range(0, size, 100_000)
            ]
        ).to(device)
        seconds, _ = timed(lambda reference=reference: nearest("tanimoto", library, reference))
        offline_rows.append({"offline_size": size, "seconds": seconds})
        print(offline_rows[-1], flush=True)
    library_rows = []
    for size in library_sizes:
        packed = random_fingerprints(size, 1024, density, generator).to(device)

        def intdiv(packed=packed):
            bits = unpack_bits(packed)
            total = torch.zeros((), dtype=torch.float64, device=bits.device)
            for start in range(0, bits.shape[0], 2048):
                total += tanimoto_from_bits(bits[start : start + 2048], bits).sum()
            return 1 - total / bits.shape[0] ** 2

        seconds, _ = timed(intdiv)
        library_rows.append({"library_size": size, "seconds": seconds})
        print(library_rows[-1], flush=True)
    return {"offline": offline_rows, "library": library_rows}


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    offline = results["scaling"]["offline"]
    axes[0].loglog([r["offline_size"] for r in offline], [r["seconds"] for r in offline], "o-")
    axes[0].set(
        xlabel="offline designs", ylabel="seconds", title="nearest-offline similarity, 128 candidates"
    )
    library = results["scaling"]["library"]
    axes[1].loglog([r["library_size"] for r in library], [r["seconds"] for r in library], "o-")
    axes[1].set(xlabel="library size", ylabel="seconds", title="IntDiv1 (all pairs)")
    for axis in axes:
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "scaling.png")
    plt.close(figure)
    if results.get("main_job"):
        stages = results["main_job"]
        figure, axis = plt.subplots(figsize=(8, 3.5), dpi=100)
        axis.barh(list(stages), list(stages.values()))
        axis.set(xlabel="seconds", title=f"main job, {sum(stages.values()):.0f} s")
        axis.invert_yaxis()
        figure.tight_layout()
        figure.savefig(out / "main_job_stages.png")
        plt.close(figure)


def markdown(results: dict) -> str:
    lines = [f"Machine: {results['machine']}", ""]
    targets = target_rows(results)
    if targets:
        lines += ["| figure | measured | target | met |", "|---|---|---|---|"]
        units = {"wall_seconds": "s", "peak_gb": "GB", "slowdown": "x", "valid_per_second": "/s"}
        for row in targets:
            lines.append(
                f"| {row['figure']} | {row['value']:.4g} {units[row['unit']]} | {row['target']} "
                f"{units[row['unit']]} | {'yes' if row['met'] else 'no'} |"
            )
        lines.append("")
    if results.get("campaigns"):
        lines += ["| campaign | wall s | peak GB | threads |", "|---|---|---|---|"]
        for name, run in results["campaigns"].items():
            lines.append(f"| {name} | {run['wall_seconds']:.1f} | {run['peak_gb']:.2f} | {run['threads']} |")
        lines.append("")
    if results.get("main_job"):
        lines += ["| main job stage | seconds |", "|---|---|"]
        lines += [f"| {stage} | {seconds:.1f} |" for stage, seconds in results["main_job"].items()]
        lines += [f"| total | {sum(results['main_job'].values()):.1f} |", ""]
    lines += [
        "| sampler | candidates | decoded per second | valid | valid per second |",
        "|---|---|---|---|---|",
    ]
    for row in results["samplers"]:
        rate, valid, valid_rate = row["candidates_per_second"], row["valid_share"], row["valid_per_second"]
        lines.append(
            f"| {row['sampler']} | {row['candidates']} | {rate:.0f} | {valid:.1%} | {valid_rate:.0f} |"
        )
    if results.get("sampler_stages"):
        stages = results["sampler_stages"]
        lines += ["", "| target sampler's stage, one thread | s per 1,000 molecules |", "|---|---|"]
        lines += [f"| {stage} | {seconds:.3f} |" for stage, seconds in stages["seconds_per_1000"].items()]
        lines.append(
            f"| these stages in {stages['processes']} processes side by side allow | "
            f"{stages['ceiling_per_second']:.0f} molecules/s |"
        )
    lines += [
        "",
        "| kernel | comparisons | genmbo per s | RDKit per s | genmbo / RDKit | max difference |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["kernels"]:
        rates = f"{row['genmbo_per_second']:.3g} | {row['rdkit_per_second']:.3g}"
        lines.append(
            f"| {row['kernel']} | {row['comparisons']:,} | {rates} "
            f"| {row['speedup_over_rdkit']:.1f}x | {row['max_abs_difference']:.1e} |"
        )
    lines += ["", "| offline designs | nearest similarity, 128 candidates (s) |", "|---|---|"]
    lines += [f"| {r['offline_size']:,} | {r['seconds']:.3f} |" for r in results["scaling"]["offline"]]
    lines += ["", "| library size | IntDiv1 (s) |", "|---|---|"]
    lines += [f"| {r['library_size']:,} | {r['seconds']:.3f} |" for r in results["scaling"]["library"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--main-job", type=Path, help="metrics.json of a `genmbo design` run")
    parser.add_argument(
        "--campaigns", action="store_true", help="time the main job (3 ways) and the sequence campaign"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the test suite's version)")
    parser.add_argument("--skip-100k", action="store_true", help="leave the 100k-candidate IntDiv out")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(args.device), "device": args.device}
    if args.campaigns:
        results["campaigns"] = campaigns(args.out)
        results["main_job"] = results["campaigns"]["main job, filled cache"]["timings"]
    if args.main_job is not None:
        results["main_job"] = json.loads(args.main_job.read_text())["timings"]
    bits = unpack_bits(morgan_fingerprints(list(moses_subset_smiles()[:2000]), 2, 2048))
    density = float(bits.mean())
    if args.quick:
        results["samplers"] = sampler_throughput(16, args.device, ddpm_count=4)
        results["sampler_stages"] = sampler_stages(16, args.device)
        results["kernels"] = kernels_against_rdkit(50, 500, args.device)
        results["scaling"] = scaling([1_000, 10_000], [100, 1_000], args.device, density)
    else:
        results["samplers"] = sampler_throughput(10_000, args.device, ddpm_count=200)
        results["sampler_stages"] = sampler_stages(5_000, args.device)
        results["kernels"] = kernels_against_rdkit(1_000, 20_000, args.device)
        library_sizes = [1_000, 10_000] if args.skip_100k else [1_000, 10_000, 100_000]
        results["scaling"] = scaling([10_000, 100_000, 1_000_000], library_sizes, args.device, density)
    (args.out / "speed.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "speed.md").write_text(markdown(results))
    plot(results, args.out)
    print(markdown(results))


if __name__ == "__main__":
    main()
