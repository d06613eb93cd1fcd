free -m; ps | grep -v "\[" ; dmesg | tail -5; cat /sys/kernel/mm/transparent_hugepage/enabled; exit 0
