"""What a translation costs: usage read from the server's events, priced, summed per day, capped.

* :mod:`.usage`: ``response.done`` usage and transcription usage -> typed values (hostile input);
* :mod:`.prices`: a usage -> an estimated cost with the configured price table;
* :mod:`.meter`: today's totals, cost per translated minute, and the daily budget;
* :mod:`.report`: the metrics-file lines and the journal fields.
"""
