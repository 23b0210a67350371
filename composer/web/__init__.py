"""The reader-facing web pages `weekly serve` mounts beside one-click unsubscribe: sign-up with double
opt-in, the archive and its Atom feed, and the page readers of a list address leave by (composer.web.routes)."""
