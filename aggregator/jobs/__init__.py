"""Jobs that run the stages in order: the monthly pass, the scheduler, the queue workers and the demo."""
