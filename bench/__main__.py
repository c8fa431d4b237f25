"""`./dev bench` runs every benchmark."""

from . import subscriptions

if __name__ == "__main__":
    subscriptions.main()
