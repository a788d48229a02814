"""FooEnv for each host: gym_env (gym 0.26) and gymnasium_env (Gymnasium 1.x), imported one at a time."""
