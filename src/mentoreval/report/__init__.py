"""Report stage: analysis assembly (cohort, annual), wording, figures, tables, the papermill
runner and HTML/PDF rendering.
"""
