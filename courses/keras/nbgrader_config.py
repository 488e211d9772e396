"""nbgrader course for the keras track. Run nbgrader commands from this folder, e.g.

    cd courses/keras && nbgrader autograde 00-getting-started

or use the Makefile: `make grade TRACK=keras LESSON=00-getting-started`.
"""

import os

c = get_config()  # noqa: F821
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
load_subconfig(os.path.join(repo, "nbgrader_config.py"))  # noqa: F821

c.CourseDirectory.root = repo
c.CourseDirectory.course_id = "transfer-learning-keras"
c.CourseDirectory.source_directory = "solutions/keras"
c.CourseDirectory.release_directory = "lessons/keras"
c.CourseDirectory.submitted_directory = "courses/keras/submitted"
c.CourseDirectory.autograded_directory = "courses/keras/autograded"
c.CourseDirectory.feedback_directory = "courses/keras/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
