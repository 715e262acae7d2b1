def helper():
    raise ValueError("boom from the learner")
helper()
