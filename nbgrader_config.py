"""nbgrader settings shared by both tracks of the course.

Each track is its own nbgrader course; its paths are set in ``courses/<track>/nbgrader_config.py``
(run nbgrader from that folder) and mirrored by ``tlhelpers.grading.course_config``.
"""

c = get_config()  # noqa: F821  (provided by nbgrader's config loader)

# Lessons train small networks: nbgrader's default of 30 s per cell is far too short.
c.Execute.timeout = 1800
c.ExecutePreprocessor.timeout = 1800
c.Execute.kernel_name = "python3"

# What a learner sees in an answer cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Student notebooks are generated without outputs; the checksum guards locked cells.
c.ClearOutput.enabled = True
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
