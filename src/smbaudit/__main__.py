from smbaudit.cli import main

main()
