from arhiva.cli import main

main()
