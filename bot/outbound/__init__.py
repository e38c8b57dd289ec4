"""What leaves unprompted: the scheduler, the one sender, pacing, delivery policy, the
renderers of outbox rows and broadcast progress. Handlers never call it: they commit outbox
rows and the sender wakes."""
