# Written by evsim bench ioreq; redraw with `gnuplot plots.gp` in this folder
reset
set terminal png size 1000,600 noenhanced
set output 'access.png'
set title 'One access, as the HVM guest times it'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram cluster
set style fill solid 0.8 border -1
set grid ytics
set key top left
set xtics rotate by -30
plot 'points.dat' using 2:xtic(1) title 'uart inb', '' using 3 title 'bar inl', '' using 4 title 'mmio write', '' using 5 title 'vga write'
reset
set terminal png size 1000,600 noenhanced
set output 'stages.png'
set title 'Round trip by stage (mean cycles)'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set grid ytics
set key outside right
set xtics rotate by -30
plot 'points.dat' using 10:xtic(1) title 'exit', 'points.dat' using 11 title 'decode', 'points.dat' using 12 title 'send', 'points.dat' using 13 title 'emulator_wake', 'points.dat' using 14 title 'handle', 'points.dat' using 15 title 'respond', 'points.dat' using 16 title 'vcpu_wake', 'points.dat' using 17 title 'complete', 'points.dat' using 18 title 'entry'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'access.svg'
set title 'One access, as the HVM guest times it'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram cluster
set style fill solid 0.8 border -1
set grid ytics
set key top left
set xtics rotate by -30
plot 'points.dat' using 2:xtic(1) title 'uart inb', '' using 3 title 'bar inl', '' using 4 title 'mmio write', '' using 5 title 'vga write'
reset
set terminal svg size 1000,600 dynamic noenhanced
set output 'stages.svg'
set title 'Round trip by stage (mean cycles)'
set ylabel 'cycles'
set yrange [0:*]
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set grid ytics
set key outside right
set xtics rotate by -30
plot 'points.dat' using 10:xtic(1) title 'exit', 'points.dat' using 11 title 'decode', 'points.dat' using 12 title 'send', 'points.dat' using 13 title 'emulator_wake', 'points.dat' using 14 title 'handle', 'points.dat' using 15 title 'respond', 'points.dat' using 16 title 'vcpu_wake', 'points.dat' using 17 title 'complete', 'points.dat' using 18 title 'entry'
