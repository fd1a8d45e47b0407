"""Security-team alerts: one internal schema, grouping, suppressions, and sinks per format."""
