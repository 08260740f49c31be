"""mmbridge: a framework for writing appservice-style bridges into Mattermost."""

__version__ = "0.1.0.dev0"
