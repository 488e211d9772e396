"""nbgrader course for the torch track. Run nbgrader commands from this folder, e.g.

    cd courses/torch && nbgrader autograde 00-getting-started

or use the Makefile: `make grade TRACK=torch LESSON=00-getting-started`.
"""

import os

c = get_config()  # noqa: F821
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
load_subconfig(os.path.join(repo, "nbgrader_config.py"))  # noqa: F821

c.CourseDirectory.root = repo
c.CourseDirectory.course_id = "transfer-learning-torch"
c.CourseDirectory.source_directory = "solutions/torch"
c.CourseDirectory.release_directory = "lessons/torch"
c.CourseDirectory.submitted_directory = "courses/torch/submitted"
c.CourseDirectory.autograded_directory = "courses/torch/autograded"
c.CourseDirectory.feedback_directory = "courses/torch/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
