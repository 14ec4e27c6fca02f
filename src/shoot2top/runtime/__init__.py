"""The runtime: what runs sources into sinks, in-process or as a Storm topology.

`pipeline` (the in-process runner), `delivery` (tracked sources and acking sinks, the
at-least-once bookkeeping both runners share), `topology` (the plan a Storm topology is
wired from), `components` (config to sources, sinks and analytics stages), `state`
(checkpoints and the pipeline lock), `deadletter`, `retry`, `progress`, `status` and
`logsummary`.
"""
