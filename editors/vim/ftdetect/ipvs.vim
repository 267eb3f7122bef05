" ipvsc configuration files (the Linux IPVS table as code).
autocmd BufRead,BufNewFile *.ipvs setfiletype ipvs
