"""`seqjepa-eval`: evaluate a checkpoint: probes, R², retrieval, path integration, figures.

Modules, in the order a run uses them: :mod:`.loading` (checkpoint → frozen model, shard
checks), :mod:`.features` (fixed evaluation sequences → cached features, :mod:`.cache`),
:mod:`.targets` (regression targets per setting), :mod:`.probes` (heads on cached features),
:mod:`.metrics`, :mod:`.tasks` (classification, equivariance, prediction), :mod:`.retrieval`
(MRR/Hit@k), :mod:`.path_integration`, :mod:`.results` (the table), :mod:`.figures`,
:mod:`.paper` (the paper's numbers) and :mod:`.report`; :mod:`.pipeline` runs them in order
and :mod:`.cli` is the command line.
"""
