from tools.plan_summary.cli import main

main()
