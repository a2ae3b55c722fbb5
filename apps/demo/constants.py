DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Demo"
DEMO_PASSWORD = "learning-loop-demo"

# (username, role, password, full name). Reps report to the first manager.
DEMO_USERS = [
    ("rory", "rep", DEMO_PASSWORD, "Rory Reyes"),
    ("sam", "rep", DEMO_PASSWORD, "Sam Okafor"),
    ("maria", "manager", DEMO_PASSWORD, "Maria Lindqvist"),
    ("erin", "executive", DEMO_PASSWORD, "Erin Walsh"),
    ("ada", "admin", DEMO_PASSWORD, "Ada Moreau"),
]
