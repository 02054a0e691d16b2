"""Side-by-side benchmarks of this SDK against sentry-sdk: ``python -m benchmarks.run`` (``make bench``).

See ``benchmarks/README.md`` for what each scenario measures and how to read the report.
"""
