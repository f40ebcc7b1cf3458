
        3f8:[w]       2
        cf8:[w]       3
        cfc:[r]       1
       c010:[r]      15
