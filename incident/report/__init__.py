"""Reports and notices: the authority report draft and the notices to individuals."""
