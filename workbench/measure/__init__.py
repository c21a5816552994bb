"""Measuring at the observation date: decisions, their signals, people, goals, renewals due."""
