"""Judging: do signals predict renewal, how revenue was kept, what the data's health allows."""
