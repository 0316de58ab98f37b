"""A self-contained HTML report of a design run: every image is embedded, nothing is fetched.

Sections: the metrics table; the score distribution of the offline data against the candidates
(predicted, and the oracle's for tasks); a 2-D projection of the latent space (principal components of
the offline latents, Pearson 1901; computed with `torch.pca_lowrank`) with data and candidates; a grid of
the top candidates (RDKit drawings for molecules, aligned coloured text for sequences, coordinates against
the offline range for vectors); and the stage timings and input-cleaning counts. A campaign of several
objectives adds its Pareto figures and a matrix of plots: each pair of objectives, offline measurements
against the library's predictions, with the offline front marked, and each objective's histograms on the
diagonal.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from genmbo.selection.constraints import describe_realism_bounds

# Offline latents drawn in the projection (a random subset beyond this: a million points draw slowly).
_PROJECTED_OFFLINE = 5000
_GRID_SIZE = 24
# The metrics shown first; the full set closes the report.
SUMMARY_KEYS = (
    "task",
    "method",
    "n_candidates",
    "score_100th",
    "score_50th",
    "top10_mean",
    "best_offline_normalized",
    "best_offline_score",
    "validity",
    "uniqueness",
    "novelty",
    "diversity",
    "intdiv2",
    "nearest_offline_similarity",
    "nearest_offline_distance",
)
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.sequences { font-family: ui-monospace, monospace; font-size: 0.95em; line-height: 1.35; }
.figure img { max-width: 100%; }
"""


@dataclass
class ReportInputs:
    """What the report shows. Scores are in the user's units (minimized objectives turned back)."""

    title: str
    space_kind: str
    library: pd.DataFrame
    metrics: dict[str, Any]
    offline_scores: np.ndarray
    offline_latents: torch.Tensor
    library_latents: torch.Tensor
    offline_range: tuple[np.ndarray, np.ndarray] | None = None  # vectors: per-coordinate min and max
    minimize: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    # Several objectives: the offline measurements, a column per objective (user orientation), and
    # whether each is minimized; the library's predictions are its `predicted_<objective>` columns.
    offline_objectives: pd.DataFrame | None = None
    objective_minimize: tuple[bool, ...] = ()
    # With constraints: which offline designs meet them (the front drawn is theirs, as the metrics').
    offline_feasible: np.ndarray | None = None


def render_report(inputs: ReportInputs, seed: int = 0) -> str:
    """The report as one HTML string."""
    sections = [
        f"<h1>{html.escape(inputs.title)}</h1>",
        "<h2>Metrics</h2>",
        _metrics_table({key: inputs.metrics[key] for key in SUMMARY_KEYS if key in inputs.metrics}),
        *_realism_section(inputs.metrics.get("realism")),
        *_pareto_section(inputs),
        *_trust_section(inputs.metrics.get("surrogate_trust")),
        *[
            part
            for name, trust in inputs.metrics.get("objective_trust", {}).items()
            for part in _trust_section(trust, f"Surrogate trust: {name}")
        ],
        "<h2>Scores: offline data and candidates</h2>",
        _figure(_score_figure(inputs), "score distributions"),
        "<h2>Latent space (first two principal components of the offline latents)</h2>",
        _figure(_projection_figure(inputs, seed), "latent projection"),
        f"<h2>Top candidates (first {min(_GRID_SIZE, len(inputs.library))} by rank)</h2>",
        _candidates(inputs),
    ]
    for heading, value in inputs.notes.items():
        sections += [
            f"<h2>{html.escape(heading)}</h2>",
            f"<pre>{html.escape(json.dumps(value, indent=2))}</pre>",
        ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(inputs.title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = []
    for name, value in _flatten(metrics):
        if isinstance(value, float):
            cell = f"<td class='number'>{value:.4g}</td>"
        elif isinstance(value, int):
            cell = f"<td class='number'>{value}</td>"
        else:
            cell = f"<td>{html.escape(str(value))}</td>"
        rows.append(f"<tr><th>{html.escape(name)}</th>{cell}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _trust_section(trust: dict[str, Any] | None, heading: str = "Surrogate trust") -> list[str]:
    """The valuing surrogate's held-out ranking and calibration, with the warning when it is no better
    than chance."""
    if not trust:
        return []
    title = f"<h2>{html.escape(heading)}</h2>"
    if trust["spearman"] is None:
        return [title, f"<p>{trust['rows']} held-out designs: too few to judge.</p>"]
    rows = {
        "model": trust["model"],
        "held-out designs": trust["rows"],
        "Spearman (predicted mean vs measured)": trust["spearman"],
        "measured within mean ± std (honest Gaussian: 68%)": trust["within_1_std"],
        "measured within mean ± 2 std (95%)": trust["within_2_std"],
    }
    if trust.get("std_scale") is not None:
        rows["std widening for a 68% interval (conformal; honest std: 1)"] = trust["std_scale"]
    warning = (
        []
        if trust["better_than_chance"]
        else [
            "<p><strong>The surrogate ranks held-out designs no better than chance: this library is a "
            "guess.</strong></p>"
        ]
    )
    return [title, _metrics_table(rows), *warning]


def _pareto_section(inputs: ReportInputs) -> list[str]:
    """The Pareto figures (`genmbo.metrics.pareto`) and the matrix of objective plots."""
    pareto, offline = inputs.metrics.get("pareto"), inputs.offline_objectives
    if pareto is None or offline is None:
        return []
    rows = {
        "library hypervolume (predicted)": pareto["hypervolume"],
        "offline hypervolume (measured)": pareto["offline_hypervolume"],
        "ratio": pareto["hypervolume_ratio"],
        "library designs no offline design dominates": pareto["undominated_share"],
        **{
            label: pareto[key]
            for key, label in (
                ("feasible_share", "library designs feasible (predicted)"),
                ("offline_feasible_share", "offline designs feasible (measured)"),
            )
            if key in pareto
        },
        **{f"reference point: {name}": value for name, value in pareto["reference_point"].items()},
        **{
            f"{name}: library {key}": value
            for name, values in pareto["objectives"].items()
            for key, value in values.items()
        },
    }
    return [
        "<h2>Pareto: offline data and library</h2>",
        _metrics_table(rows),
        _figure(_pareto_figure(inputs), "objective pairs"),
        _objective_table(inputs),
    ]


def _objective_table(inputs: ReportInputs) -> str:
    """The first library rows with every objective's prediction (mean ± std) and their front."""
    assert inputs.offline_objectives is not None
    names = list(inputs.offline_objectives.columns)
    top = inputs.library.head(_GRID_SIZE)
    header = "".join(f"<th>{html.escape(name)}</th>" for name in ["rank", "design", *names, "front"])
    rows = []
    for _, row in top.iterrows():
        cells = [f"<td class='number'>{row['rank']}</td>", f"<td>{html.escape(str(row['design']))}</td>"]
        cells += [
            f"<td class='number'>{row[f'predicted_{name}']:.4g} ± {row[f'predicted_{name}_std']:.2g}</td>"
            for name in names
        ]
        cells.append(f"<td class='number'>{row['pareto_front']}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def _pareto_figure(inputs: ReportInputs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from botorch.utils.multi_objective import is_non_dominated

    offline = inputs.offline_objectives
    assert offline is not None
    names = list(offline.columns)
    # An objective that is a desirability is drawn as one, as the front and the hypervolume see it.
    shown = [
        f"desirability_{name}" if f"desirability_{name}" in inputs.library else f"predicted_{name}"
        for name in names
    ]
    labels = [
        f"desirability of {name}" if key.startswith("desirability_") else name
        for name, key in zip(names, shown, strict=True)
    ]
    library = np.column_stack([inputs.library[key].to_numpy(float) for key in shown])
    feasible = (
        inputs.library["feasible"].to_numpy(bool)
        if "feasible" in inputs.library
        else np.ones(len(library), dtype=bool)
    )
    measured = offline.to_numpy(float)
    sign = np.where(np.asarray(inputs.objective_minimize), -1.0, 1.0)
    meets = inputs.offline_feasible if inputs.offline_feasible is not None else np.ones(len(measured), bool)
    front = np.zeros(len(measured), dtype=bool)
    front[meets] = is_non_dominated(torch.as_tensor(measured[meets] * sign)).numpy()
    count = len(names)
    size = min(3.2 * count, 11)
    figure, axes = plt.subplots(count, count, figsize=(size, size), dpi=100, squeeze=False)
    for row in range(count):
        for column in range(count):
            axis = axes[row][column]
            if row == column:
                values = np.concatenate([measured[:, row], library[:, row]])
                bins = np.linspace(values.min(), values.max(), 30) if np.ptp(values) > 0 else 10
                axis.hist(measured[:, row], bins=bins, density=True, histtype="step", color="#888888")
                axis.hist(library[:, row], bins=bins, density=True, histtype="step", color="#1f77b4")
            else:
                axis.scatter(measured[:, column], measured[:, row], s=4, color="#bbbbbb", label="offline")
                axis.scatter(
                    measured[front, column],
                    measured[front, row],
                    s=10,
                    color="#333333",
                    label="offline front",
                )
                axis.scatter(
                    library[feasible, column],
                    library[feasible, row],
                    s=10,
                    color="#1f77b4",
                    label="library, predicted",
                )
                if not feasible.all():
                    axis.scatter(
                        library[~feasible, column],
                        library[~feasible, row],
                        s=10,
                        marker="x",
                        color="#d62728",
                        label="library, predicted infeasible",
                    )
            if row == count - 1:
                direction = "min" if inputs.objective_minimize[column] else "max"
                axis.set_xlabel(f"{labels[column]} ({direction})")
            if column == 0:
                direction = "min" if inputs.objective_minimize[row] else "max"
                axis.set_ylabel(f"{labels[row]} ({direction})")
    axes[0][-1].legend(frameon=False, fontsize=8) if count > 1 else None
    return figure


def _realism_section(realism: dict[str, Any] | None) -> list[str]:
    """The library's realism beside the offline data's and its top decile's (molecules only)."""
    if not realism:
        return []
    columns = ("library", "offline", "offline_top_decile")
    header = "".join(f"<th>{html.escape(column.replace('_', ' '))}</th>" for column in columns)
    rows = [
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td class='number'>{realism[column][name]:.4g}</td>" for column in columns)
        + "</tr>"
        for name in realism["library"]
    ]
    if "fcd_to_offline" in realism:
        note = f"FCD of the library to the offline molecules: {realism['fcd_to_offline']:.3g}"
    else:
        note = realism["fcd_note"]
    if realism.get("guidance_weight"):
        note += (
            ". The search's guidance also climbed the realism critic's log-probability, weight "
            f"{realism['guidance_weight']:g}"
        )
    if "filter" in realism:
        note += f". Candidates were kept with {describe_realism_bounds(realism['filter'])}"
    return [
        "<h2>Realism: library against the offline data</h2>",
        f"<table><tr><th></th>{header}</tr>{''.join(rows)}</table>",
        f"<p>{html.escape(note)}</p>",
    ]


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            items += _flatten(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _score_figure(inputs: ReportInputs):
    figure, axis = _axes()
    offline = inputs.offline_scores[np.isfinite(inputs.offline_scores)]
    library = inputs.library
    series = [("offline data", offline, "#888888")]
    predicted = library["predicted_score"].to_numpy(float)
    series.append(("candidates, predicted", predicted[np.isfinite(predicted)], "#1f77b4"))
    if "oracle_score" in library:
        oracle = library["oracle_score"].to_numpy(float)
        series.append(("candidates, oracle", oracle[np.isfinite(oracle)], "#d62728"))
    finite = np.concatenate([values for _, values, _ in series if len(values)])
    bins = np.linspace(finite.min(), finite.max(), 50) if finite.size and np.ptp(finite) > 0 else 20
    for label, values, colour in series:
        if len(values):
            axis.hist(
                values, bins=bins, density=True, histtype="step", linewidth=1.8, label=label, color=colour
            )
    axis.set_xlabel("score (lower is better)" if inputs.minimize else "score (higher is better)")
    axis.set_ylabel("density")
    axis.legend(frameon=False)
    return figure


def _projection_figure(inputs: ReportInputs, seed: int):
    offline = inputs.offline_latents.detach().double()
    candidates = inputs.library_latents.detach().double()
    figure, axis = _axes()
    if offline.shape[1] < 2 or offline.shape[0] < 3:
        axis.text(
            0.5, 0.5, "latent space has fewer than two dimensions", ha="center", transform=axis.transAxes
        )
        return figure
    center = offline.mean(0)
    generator = torch.Generator().manual_seed(seed)
    _, _, components = torch.pca_lowrank(offline - center, q=2, center=False, niter=4)
    shown = offline
    scores = inputs.offline_scores
    if offline.shape[0] > _PROJECTED_OFFLINE:
        subset = torch.randperm(offline.shape[0], generator=generator)[:_PROJECTED_OFFLINE]
        shown, scores = offline[subset], scores[subset.numpy()]
    offline_points = ((shown - center) @ components).numpy()
    candidate_points = ((candidates - center) @ components).numpy()
    dots = axis.scatter(
        offline_points[:, 0],
        offline_points[:, 1],
        c=np.nan_to_num(scores, neginf=np.nan),
        s=4,
        cmap="Greys",
        alpha=0.6,
        label="offline data (shade: score)",
    )
    axis.scatter(
        candidate_points[:, 0], candidate_points[:, 1], s=22, marker="*", color="#d62728", label="candidates"
    )
    figure.colorbar(dots, ax=axis, label="offline score")
    axis.set_xlabel("PC 1")
    axis.set_ylabel("PC 2")
    axis.legend(frameon=False, loc="best")
    return figure


def _candidates(inputs: ReportInputs) -> str:
    top = inputs.library.head(_GRID_SIZE)
    if top.empty:
        return "<p>No candidates passed the filters.</p>"
    legends = [
        f"#{rank}  pred {score:.3g}" for rank, score in zip(top["rank"], top["predicted_score"], strict=True)
    ]
    if inputs.space_kind == "molecules":
        return _molecule_grid(list(top["design"]), legends)
    if inputs.space_kind == "continuous":
        return _figure(_vector_figure(inputs, top), "top candidates' coordinates")
    return _aligned_sequences(list(top["design"]), legends)


def _molecule_grid(smiles: Sequence[str], legends: Sequence[str]) -> str:
    from rdkit import Chem

    try:
        from rdkit.Chem import Draw
    except ImportError as error:  # RDKit's drawing needs X rendering libraries a headless box may lack
        rows = "".join(
            f"<tr><td>{html.escape(legend)}</td><td class='sequences'>{html.escape(text)}</td></tr>"
            for legend, text in zip(legends, smiles, strict=True)
        )
        return f"<p>Molecule drawings unavailable here ({html.escape(str(error))}).</p><table>{rows}</table>"

    molecules = [Chem.MolFromSmiles(text) for text in smiles]
    svg = Draw.MolsToGridImage(
        molecules, molsPerRow=6, subImgSize=(180, 160), legends=list(legends), useSVG=True
    )
    encoded = base64.b64encode(svg.encode()).decode()
    return f"<div class='figure'><img alt='top candidates' src='data:image/svg+xml;base64,{encoded}'></div>"


def _aligned_sequences(designs: Sequence[Any], legends: Sequence[str]) -> str:
    tokens = [list(design) if isinstance(design, str) else list(design) for design in designs]
    alphabet = sorted({token for row in tokens for token in row})
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    colours = {token: palette[index % len(palette)] for index, token in enumerate(alphabet)}
    separator = "" if all(len(token) == 1 for token in alphabet) else " "
    lines = []
    for legend, row in zip(legends, tokens, strict=True):
        cells = separator.join(
            f"<span style='color:{colours[token]}'>{html.escape(token)}</span>" for token in row
        )
        lines.append(f"<tr><td>{html.escape(legend)}</td><td class='sequences'>{cells}</td></tr>")
    return "<table>" + "".join(lines) + "</table>"


def _vector_figure(inputs: ReportInputs, top: pd.DataFrame):
    figure, axis = _axes()
    coordinates = np.array([[float(value) for value in str(design).split()] for design in top["design"]])
    positions = np.arange(coordinates.shape[1])
    if inputs.offline_range is not None:
        low, high = inputs.offline_range
        axis.fill_between(positions, low, high, color="#dddddd", label="offline range")
    for row in coordinates:
        axis.plot(positions, row, color="#d62728", alpha=0.35, linewidth=1)
    axis.set_xlabel("coordinate")
    axis.set_ylabel("value")
    axis.legend(frameon=False)
    return figure


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 4.5), dpi=100)


def _figure(figure, alt: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"<div class='figure'><img alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'></div>"
