# Written by evsim bench abi-scaling; redraw with `gnuplot plots.gp` in this folder
reset
set terminal png size 1000,600 noenhanced
set output 'ports_latency.png'
set title 'Send to handler p50, one port pending'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_latency_p99.png'
set title 'Send to handler p99, one port pending'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:8 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:8 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:8 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_scan.png'
set title 'Guest upcall instructions per delivered event'
set xlabel 'ports bound'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_transfers.png'
set title 'Cache-line transfers per delivered event'
set xlabel 'ports bound'
set ylabel 'lines'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:13 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:13 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:13 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_set_pending.png'
set title 'Hypervisor set_pending, p50'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:11 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:11 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:11 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_memory.png'
set title 'Model memory per domain (port table and ABI state)'
set xlabel 'ports bound'
set ylabel 'bytes'
set grid
set key top left
set logscale x 2
set logscale y 10
plot 'ports.dat' index 0 using 1:15 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:15 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:15 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'ports_guest_pages.png'
set title 'Guest pages shared with Xen'
set xlabel 'ports bound'
set ylabel 'pages'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:14 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:14 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:14 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'density_latency.png'
set title 'Send to handler p50 by events pending per burst (4094 ports)'
set xlabel 'events per burst'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'density.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'density.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'density.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'density_scan.png'
set title 'Upcall instructions per event by events pending per burst'
set xlabel 'events per burst'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'density.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'density.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'density.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'vcpus_latency.png'
set title 'Send to handler p50 by vcpus (1024 ports, 64 per burst)'
set xlabel 'vcpus'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'vcpus.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'vcpus.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'vcpus.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'vcpus_transfers.png'
set title 'Cache-line transfers per event by vcpus'
set xlabel 'vcpus'
set ylabel 'lines'
set grid
set key top left
set logscale x 2
plot 'vcpus.dat' index 0 using 1:13 with linespoints lw 2 title '2l', \
     'vcpus.dat' index 1 using 1:13 with linespoints lw 2 title '3l', \
     'vcpus.dat' index 2 using 1:13 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'domains_latency.png'
set title 'Dom0 send to handler p50, four ports per frontend'
set xlabel 'frontends'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'domains.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'domains.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'domains.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'domains_scan.png'
set title 'Dom0 upcall instructions per event'
set xlabel 'frontends'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'domains.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'domains.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'domains.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal png size 1000,600 noenhanced
set output 'storm.png'
set title 'Rare ports under a one-port storm: wait from send to handler'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram cluster
set style fill solid 0.8 border -1
set grid ytics
set key top left
plot 'storm.dat' using 2:xtic(1) title 'mean', '' using 3 title 'worst'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_latency.svg'
set title 'Send to handler p50, one port pending'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_latency_p99.svg'
set title 'Send to handler p99, one port pending'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:8 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:8 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:8 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_scan.svg'
set title 'Guest upcall instructions per delivered event'
set xlabel 'ports bound'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_transfers.svg'
set title 'Cache-line transfers per delivered event'
set xlabel 'ports bound'
set ylabel 'lines'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:13 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:13 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:13 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_set_pending.svg'
set title 'Hypervisor set_pending, p50'
set xlabel 'ports bound'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:11 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:11 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:11 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_memory.svg'
set title 'Model memory per domain (port table and ABI state)'
set xlabel 'ports bound'
set ylabel 'bytes'
set grid
set key top left
set logscale x 2
set logscale y 10
plot 'ports.dat' index 0 using 1:15 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:15 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:15 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'ports_guest_pages.svg'
set title 'Guest pages shared with Xen'
set xlabel 'ports bound'
set ylabel 'pages'
set grid
set key top left
set logscale x 2
plot 'ports.dat' index 0 using 1:14 with linespoints lw 2 title '2l', \
     'ports.dat' index 1 using 1:14 with linespoints lw 2 title '3l', \
     'ports.dat' index 2 using 1:14 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'density_latency.svg'
set title 'Send to handler p50 by events pending per burst (4094 ports)'
set xlabel 'events per burst'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'density.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'density.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'density.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'density_scan.svg'
set title 'Upcall instructions per event by events pending per burst'
set xlabel 'events per burst'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'density.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'density.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'density.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'vcpus_latency.svg'
set title 'Send to handler p50 by vcpus (1024 ports, 64 per burst)'
set xlabel 'vcpus'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'vcpus.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'vcpus.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'vcpus.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'vcpus_transfers.svg'
set title 'Cache-line transfers per event by vcpus'
set xlabel 'vcpus'
set ylabel 'lines'
set grid
set key top left
set logscale x 2
plot 'vcpus.dat' index 0 using 1:13 with linespoints lw 2 title '2l', \
     'vcpus.dat' index 1 using 1:13 with linespoints lw 2 title '3l', \
     'vcpus.dat' index 2 using 1:13 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'domains_latency.svg'
set title 'Dom0 send to handler p50, four ports per frontend'
set xlabel 'frontends'
set ylabel 'cycles'
set grid
set key top left
set logscale x 2
plot 'domains.dat' index 0 using 1:7 with linespoints lw 2 title '2l', \
     'domains.dat' index 1 using 1:7 with linespoints lw 2 title '3l', \
     'domains.dat' index 2 using 1:7 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'domains_scan.svg'
set title 'Dom0 upcall instructions per event'
set xlabel 'frontends'
set ylabel 'instructions'
set grid
set key top left
set logscale x 2
plot 'domains.dat' index 0 using 1:12 with linespoints lw 2 title '2l', \
     'domains.dat' index 1 using 1:12 with linespoints lw 2 title '3l', \
     'domains.dat' index 2 using 1:12 with linespoints lw 2 title 'fifo'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'storm.svg'
set title 'Rare ports under a one-port storm: wait from send to handler'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram cluster
set style fill solid 0.8 border -1
set grid ytics
set key top left
plot 'storm.dat' using 2:xtic(1) title 'mean', '' using 3 title 'worst'
