"""The conversation pipeline's domain code: jobs, history, debounce, Hub, Crew Factory, handoff.

Nothing here imports crewai at module level: the receiver imports `jobs` and `history`, and must cold-start light.
"""
