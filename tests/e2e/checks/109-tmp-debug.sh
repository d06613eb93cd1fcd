free -m; ps | grep -v "\[" ; dmesg | tail -5; exit 0
