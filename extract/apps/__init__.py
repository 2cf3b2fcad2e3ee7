"""The applications, built on the public API: the ``extract`` command (``cli``),
evaluation against gold data, the review page, distillation into a student, database
ingestion, the Ray engine, the highlight page and the testing toolkit.
"""
