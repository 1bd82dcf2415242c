"""Patient reviews of completed appointments; a low rating alerts the organisation's admins."""
