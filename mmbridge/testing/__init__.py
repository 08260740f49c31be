"""Testing bridges without a Mattermost server: the emulator (:mod:`.emulator`), its pytest plugin
(:mod:`.pytest_plugin`) and a client of its fault-injection API (:mod:`.faults_client`)."""
