"""The performance chapter's one-process trials: each committed ``lab/results/<name>.json``
(written by ``lab/trials/<script>``) as table rows, a caption of its provenance and the
numbers the chapter glues. Nothing here times anything; a missing trial gives a note."""

from __future__ import annotations

import json
from pathlib import Path

from lib import runtime

TRIALS = runtime.PROJECT_ROOT / "lab" / "results"
NAN = float("nan")


def run_of(prov: dict) -> str:
    """Where and with what a one-process trial ran: device, torch, threads, commit, date."""
    return (
        f"{prov['device']}, torch {prov['torch']}, {prov['torch_threads']} thread(s), "
        f"commit {prov['commit']}, {prov['date']}"
    )


def compile_rows(trial: dict) -> list[dict]:
    """torch.compile against eager on each cpu model: attack, training, first epoch."""
    return [
        {
            "model": r["model"],
            "attack: eager / compiled": r["eager/compiled"]["attack"],
            "training: eager / compiled": r["eager/compiled"]["train"],
            "first training epoch, compiled / eager": r["train_first_epoch_s"]["compiled"]
            / r["train_first_epoch_s"]["eager"],
        }
        for r in trial["rows"]
    ]


def compile_caption(trial: dict) -> str:
    prov = trial["provenance"]
    return (
        f"{run_of(prov)}; {trial['rows'][0]['images']} images an epoch, median of "
        f"{prov['args']['rounds']} interleaved rounds."
    )


def input_conv_rows(trial: dict) -> list[dict]:
    """The MNIST CNN with oneDNN's first conv (plain) over the fast input conv."""
    return [
        {
            "model": r["model"],
            "PGD-10, bf16: plain / fast": r["plain/fast"]["attack_bf16"],
            "PGD-10, fp32: plain / fast": r["plain/fast"]["attack_fp32"],
            "PGD-5 training epoch: plain / fast": r["plain/fast"]["train"],
        }
        for r in trial["rows"]
    ]


def input_conv_caption(trial: dict) -> str:
    prov = trial["provenance"]
    return (
        f"{run_of(prov)}; batch 128, {trial['rows'][0]['images']} images an epoch, median "
        f"of {prov['args']['rounds']} interleaved rounds."
    )


def user_cnn_rows(trial: dict) -> list[dict]:
    """The README's call on a user's CNN against torchattacks, and with oneDNN's kernel."""
    return [
        {
            "model": r["model"],
            "ours / torchattacks": r["ours/torchattacks"],
            "oneDNN's input gradient / torchattacks": r["ours_onednn/torchattacks"],
            "oneDNN's / ours (time)": r["ours_onednn/ours"],
        }
        for r in trial["rows"]
    ]


def user_cnn_caption(trial: dict) -> str:
    prov, row = trial["provenance"], trial["rows"][0]
    return (
        f"{run_of(prov)}; batch {row['batch']}, PGD-{row['steps']} l_inf, {row['precision']}, "
        f"median of {prov['args']['rounds']} interleaved rounds."
    )


def roofline_rows(trial: dict) -> list[dict]:
    """GFLOP/s of a cpu-recipe training step, and its share of the GEMM ceiling at the
    step's own precision (files before 2026-12-08 measured bf16 only: ``gemm_bf16_gflops``)."""
    return [
        {
            "model": r["model"],
            "adversarial step: GFLOP/s": r["adversarial"]["gflops"],
            "adversarial step / ceiling": r["adversarial"]["of_gemm"],
            "standard step / ceiling": r["clean"]["of_gemm"],
            "ceiling: GFLOP/s": r.get("gemm_gflops", r.get("gemm_bf16_gflops")),
            "precision": r.get("precision", "bf16"),
        }
        for r in trial["rows"]
    ]


def roofline_caption(trial: dict) -> str:
    return (
        f"{run_of(trial['provenance'])}; each recipe's own model, batch, training attack and "
        f"precision, median of {trial['provenance']['args']['rounds']} rounds."
    )


def jobs_rows(trial: dict) -> list[dict]:
    """Adversarial images per second: one process with every thread against the workers."""
    rows = []
    for r in trial["rows"]:
        workers = next(v for k, v in r.items() if k.endswith(" workers"))
        rows.append(
            {
                "model": r["model"],
                "one process: images/s": r["one process"]["images_per_s"],
                "workers: images/s": sum(w["images_per_s"] for w in workers),
                "workers / one process": r["workers/one process"],
            }
        )
    return rows


def jobs_caption(trial: dict) -> str:
    prov = trial["provenance"]
    return (
        f"{prov['device']}, {prov['cores']} cores, {prov['args']['jobs']} workers of "
        f"{prov['cores'] // prov['args']['jobs']} thread(s), torch {prov['torch']}, "
        f"commit {prov['commit']}, {prov['date']}; median of {prov['args']['rounds']} "
        f"epochs of {prov['args']['images']} images."
    )


#: Each trial: its file's stem under lab/results, its script, its rows and its caption.
TRIAL_VIEWS = {
    "compile-cpu": ("compile_trial.py", compile_rows, compile_caption),
    "input-conv-cpu": ("input_conv_trial.py", input_conv_rows, input_conv_caption),
    "user-cnn-cpu": ("user_cnn_trial.py", user_cnn_rows, user_cnn_caption),
    "roofline-cpu": ("roofline_trial.py", roofline_rows, roofline_caption),
    "jobs-cpu": ("jobs_trial.py", jobs_rows, jobs_caption),
}


def trial(name: str, folder: Path | str = TRIALS) -> tuple[list[dict], str]:
    """The committed trial ``<folder>/<name>.json`` as (rows by model, a Markdown line of its
    provenance); ([], a note saying how to run it) when none is committed."""
    script, rows_of, caption_of = TRIAL_VIEWS[name]
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        return [], f"No `{name}` trial is committed: run `lab/trials/{script} --out ...`."
    data = json.loads(path.read_text())
    return rows_of(data), f"`lab/results/{name}.json`: {caption_of(data)}"


def best(rows: list[dict], column: str) -> float:
    """The largest value of ``column`` over the rows; NaN when there are none."""
    return max((r[column] for r in rows), default=NAN)


def trial_glued(name: str, rows: list[dict]) -> dict:
    """The glued numbers of one trial: its row count and best ratios (NaN: not committed)."""
    if name == "compile-cpu":
        return {
            "perf_compile_attack_best": best(rows, "attack: eager / compiled"),
            "perf_compile_training_best": best(rows, "training: eager / compiled"),
            "perf_compile_rows": len(rows),
        }
    if name == "input-conv-cpu":
        return {"perf_input_conv_rows": len(rows)}
    if name == "user-cnn-cpu":
        return {
            "perf_user_cnn_rows": len(rows),
            "perf_user_cnn_best": best(rows, "ours / torchattacks"),
            "perf_user_cnn_gain": best(rows, "oneDNN's / ours (time)"),
        }
    if name == "roofline-cpu":
        return {"perf_roofline_best": best(rows, "adversarial step / ceiling")}
    if name == "jobs-cpu":
        return {"perf_jobs_rows": len(rows), "perf_jobs_best": best(rows, "workers / one process")}
    raise ValueError(f"unknown trial {name!r}; one of {sorted(TRIAL_VIEWS)}")
