"""Sub-commands of the `incident` CLI, grouped by what they touch."""
