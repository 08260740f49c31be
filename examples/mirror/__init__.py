"""A bridge that mirrors two channels of one Mattermost server, built on mmbridge."""
