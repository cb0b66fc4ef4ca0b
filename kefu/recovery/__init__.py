"""Account recovery: locked-out customers prove who they are with identity documents; reviewers decide."""
