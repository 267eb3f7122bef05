" Vim syntax file
" Language: ipvsc configuration (*.ipvs), the Linux IPVS table as code
" The word lists follow grammar/ipvs.pest and the compiler; tests/editors.rs checks that every
" keyword and value word of the language is here.
if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
" Words may hold `-` (one-packet, flag-1).
syn iskeyword @,48-57,_,-

" Statements of a file.
syn keyword ipvsStatement define include drain timeouts defense sysctl sync service
" Statements of a service, options of a server, and `port`.
syn keyword ipvsOption scheduler persistent netmask pe one-packet forward weight upper lower
syn keyword ipvsOption server port
" Protocols, firewall marks and address families.
syn keyword ipvsProtocol tcp udp sctp fwmark ipv4 ipv6
" Schedulers.
syn keyword ipvsScheduler rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos
" Forwarding methods, tunnel words, scheduler flags, persistence engines, sync states, switch
" and defense values.
syn keyword ipvsValue dr nat tunnel ipip gue gre nocsum csum remcsum
syn keyword ipvsValue fallback flag-1 flag-2 flag-3 sh-fallback sh-port mh-fallback mh-port
syn keyword ipvsValue sip master backup on off auto always
" The settings of timeouts and sync blocks (tcp and udp are protocols above).
syn keyword ipvsSetting tcpfin interface syncid maxlen group ttl
" The sysctls of defense and sysctl blocks.
syn keyword ipvsSysctl drop_entry drop_packet secure_tcp amemthresh am_droprate
syn keyword ipvsSysctl expire_nodest_conn expire_quiescent_template conn_reuse_mode
syn keyword ipvsSysctl sloppy_tcp sloppy_sctp schedule_icmp ignore_tunneled conntrack
syn keyword ipvsSysctl snat_reroute cache_bypass nat_icmp_send pmtu_disc backup_only
syn keyword ipvsSysctl sync_version sync_threshold sync_period sync_refresh_period sync_retries
syn keyword ipvsSysctl sync_persist_mode sync_qlen_max sync_sock_size sync_ports run_estimation

" Numbers and durations (90, 15m), then addresses, which win where both match.
syn match ipvsNumber '\%([[:alnum:]_$.]\)\@1<!\d\+[smhd]\=\%([[:alnum:]_.]\)\@!'
syn match ipvsAddress '\%([[:alnum:]_$.]\)\@1<!\d\{1,3}\%(\.\d\{1,3}\)\{3}\%([[:alnum:]_.]\)\@!'
syn match ipvsAddress '\[\x*:[[:xdigit:]:.]*\]'
syn match ipvsAddress '\%([[:alnum:]_$.:]\)\@1<!\%(\x*:\x*:\)\@=[[:xdigit:]:]\+\%(\.\d\+\)\{,3}'
" $constant, and the name a define gives.
syn match ipvsVariable '\$[A-Za-z_][A-Za-z0-9_]*'
syn match ipvsDefineName '\%(\<define\s\+\)\@<=[A-Za-z_][A-Za-z0-9_]*'
syn region ipvsString start=+"+ end=+"+ end=+$+ oneline
syn match ipvsContinuation '\\$'
syn match ipvsDelimiter '[{};=]'
syn keyword ipvsTodo contained TODO FIXME XXX NOTE
syn match ipvsComment '#.*$' contains=ipvsTodo,@Spell

hi def link ipvsStatement Statement
hi def link ipvsOption Keyword
hi def link ipvsProtocol Type
hi def link ipvsScheduler Constant
hi def link ipvsValue Constant
hi def link ipvsSetting Identifier
hi def link ipvsSysctl Identifier
hi def link ipvsNumber Number
hi def link ipvsAddress Number
hi def link ipvsVariable PreProc
hi def link ipvsDefineName Identifier
hi def link ipvsString String
hi def link ipvsContinuation Special
hi def link ipvsDelimiter Delimiter
hi def link ipvsTodo Todo
hi def link ipvsComment Comment

let b:current_syntax = 'ipvs'

let &cpo = s:cpo_save
unlet s:cpo_save
