"""What a fleet of gadgets needs from each one, with no listening port:

* ``runtime_state``: ``/run/polybot/state.json``, rewritten on every state change and every few
  seconds, which ``polybot-device health`` (and through it Mender, RAUC, balena) reads;
* ``metrics``: a Prometheus text file for node_exporter's textfile collector;
* ``updatelock``: the update lock balena's supervisor honours, held while people are talking;
* ``journal``: structured journald entries (``POLYBOT_EVENT=state|utterance|fault``);
* ``reporter``: the one task in the daemon that feeds all of these.

Everything here reads the daemon's parts; nothing here is on the 20 ms audio path.
"""
