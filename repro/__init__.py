"""``seqjepa-repro``: the paper's claims reproduced at CPU scale, each with a fixed gate.

Every experiment is a chain of the project's own commands (render or real photos →
``seqjepa-prep shard`` → ``seqjepa-train`` → ``seqjepa-eval run``), run by :mod:`.stages` so
finished stages are skipped on a re-run. :mod:`.claims` holds the claims and their gates,
:mod:`.suite` the experiments of each suite, :mod:`.report` turns the evaluation tables into
``report.md``, ``results.json`` and figures.
"""
