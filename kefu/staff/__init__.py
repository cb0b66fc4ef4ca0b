"""Administration of the people who answer: teams, their members, agents' accounts and access.

Teams and agents are rows of `kefu.inboxes` and `kefu.auth`; this package holds the administrative
changes to them that reach across domains (deactivating an agent hands their conversations back to
routing, deleting a team checks every rule and inbox that names it). Every change is audited.
"""
