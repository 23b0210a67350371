"""Commands that keep the list's books (one module per group, each function returning a typed result
that cli.py prints): the flow itself (compose, build, render, send, approve, run) is composer.pipeline."""
