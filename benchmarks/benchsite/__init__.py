"""The Django project every contender of the benchmark runs in: one page, six URLs."""
