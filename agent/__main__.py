from agent.worker import main

main()
