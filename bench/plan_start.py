"""Prints the start date of the plan that goes with the benchmarks' data (90 days up to now):
the Monday 13 weeks before this week's, so that the migration is in its 14th week of 21."""
import datetime

today = datetime.date.today()
print(today - datetime.timedelta(days=today.weekday(), weeks=13))
