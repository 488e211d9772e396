"""Full-size reproductions of the lessons' headline numbers (``make bench``)."""
