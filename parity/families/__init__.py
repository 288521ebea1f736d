"""Geometry rules per model family: pure functions from image size + preset values to a plan."""
