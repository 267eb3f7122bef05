;;; ipvs-mode.el --- Major mode for ipvsc configuration files  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "26.1"))
;; Keywords: languages, unix

;;; Commentary:

;; A major mode for the ipvsc configuration language (*.ipvs), which describes the Linux IPVS
;; (LVS) table: highlighting, `#' comments, indentation of `{ }' blocks, and a Flymake backend
;; that runs `ipvsc check --format short' on the buffer.
;;
;;   (add-to-list 'load-path "/path/to/ipvsc/editors/emacs")
;;   (require 'ipvs-mode)
;;   (add-hook 'ipvs-mode-hook #'flymake-mode)
;;
;; For completion, hover and go to definition, use the language server with Eglot:
;;
;;   (add-to-list 'eglot-server-programs '(ipvs-mode "ipvsc" "lsp"))

;;; Code:

(require 'flymake)

(defgroup ipvs nil
  "The ipvsc configuration language."
  :group 'languages
  :prefix "ipvs-")

(defcustom ipvs-ipvsc-program "ipvsc"
  "The ipvsc program, run as `ipvsc check --format short -' by Flymake."
  :type 'string)

(defcustom ipvs-indent-offset 4
  "Columns of indentation for each level of `{ }'."
  :type 'integer
  :safe #'integerp)

;; The words of the language.  tests/editors.rs checks that every keyword and value word of the
;; grammar and the compiler is in one of these lists.

(defconst ipvs-mode-statements
  '("define" "include" "drain" "timeouts" "defense" "sysctl" "sync" "service")
  "The statements of a file.")

(defconst ipvs-mode-options
  '("scheduler" "persistent" "netmask" "pe" "one-packet" "forward" "weight" "upper" "lower"
    "server" "port")
  "The statements of a service, the options of a server, and `port'.")

(defconst ipvs-mode-types
  '("tcp" "udp" "sctp" "fwmark" "ipv4" "ipv6")
  "Protocols, firewall marks and address families.")

(defconst ipvs-mode-schedulers
  '("rr" "wrr" "lc" "wlc" "lblc" "lblcr" "dh" "sh" "sed" "nq" "fo" "ovf" "mh" "twos")
  "The schedulers.")

(defconst ipvs-mode-values
  '("dr" "nat" "tunnel" "ipip" "gue" "gre" "nocsum" "csum" "remcsum"
    "fallback" "flag-1" "flag-2" "flag-3" "sh-fallback" "sh-port" "mh-fallback" "mh-port"
    "sip" "master" "backup" "on" "off" "auto" "always")
  "Forwarding methods, tunnel words and scheduler flags.
Also persistence engines, sync states, and the values of switches and defenses.")

(defconst ipvs-mode-settings
  '("tcpfin" "interface" "syncid" "maxlen" "group" "ttl")
  "The settings of timeouts and sync blocks.
`tcp' and `udp' are in `ipvs-mode-types'.")

(defconst ipvs-mode-sysctls
  '("drop_entry" "drop_packet" "secure_tcp" "amemthresh" "am_droprate"
    "expire_nodest_conn" "expire_quiescent_template" "conn_reuse_mode" "sloppy_tcp"
    "sloppy_sctp" "schedule_icmp" "ignore_tunneled" "conntrack" "snat_reroute" "cache_bypass"
    "nat_icmp_send" "pmtu_disc" "backup_only" "sync_version" "sync_threshold" "sync_period"
    "sync_refresh_period" "sync_retries" "sync_persist_mode" "sync_qlen_max" "sync_sock_size"
    "sync_ports" "run_estimation")
  "The settings of defense and sysctl blocks.")

(defconst ipvs-mode-font-lock-keywords
  `(("\\$[A-Za-z_][A-Za-z0-9_]*" . font-lock-variable-name-face)
    ("\\_<define[ \t]+\\([A-Za-z_][A-Za-z0-9_]*\\)" 1 font-lock-variable-name-face)
    (,(regexp-opt ipvs-mode-statements 'symbols) . font-lock-keyword-face)
    (,(regexp-opt ipvs-mode-options 'symbols) . font-lock-keyword-face)
    (,(regexp-opt ipvs-mode-types 'symbols) . font-lock-type-face)
    (,(regexp-opt ipvs-mode-schedulers 'symbols) . font-lock-constant-face)
    (,(regexp-opt ipvs-mode-values 'symbols) . font-lock-constant-face)
    (,(regexp-opt ipvs-mode-settings 'symbols) . font-lock-builtin-face)
    (,(regexp-opt ipvs-mode-sysctls 'symbols) . font-lock-builtin-face))
  "What `ipvs-mode' highlights.")

(defvar ipvs-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?- "_" table)
    (modify-syntax-entry ?$ "'" table)
    (modify-syntax-entry ?{ "(}" table)
    (modify-syntax-entry ?} "){" table)
    (modify-syntax-entry ?\[ "(]" table)
    (modify-syntax-entry ?\] ")[" table)
    (modify-syntax-entry ?\\ "." table)
    table)
  "Syntax table of `ipvs-mode'.")

(defun ipvs--continued-line-p ()
  "Whether the line before point's line ends with a `\\' that continues it."
  (save-excursion
    (beginning-of-line)
    (and (not (bobp))
         (progn (forward-char -1)
                (skip-chars-backward " \t")
                (eq (char-before) ?\\))
         (not (nth 4 (syntax-ppss))))))

(defun ipvs-indent-line ()
  "Indent the current line: one level per open `{', one more for a continued line."
  (interactive)
  (let* ((depth (save-excursion (car (syntax-ppss (line-beginning-position)))))
         (closing (save-excursion (back-to-indentation) (eq (char-after) ?})))
         (level (max 0 (- depth (if closing 1 0))))
         (indent (+ (* ipvs-indent-offset level)
                    (if (ipvs--continued-line-p) ipvs-indent-offset 0)))
         (offset (- (current-column) (current-indentation))))
    (indent-line-to indent)
    (when (> offset 0)
      (forward-char offset))))

;;; Flymake

(defvar-local ipvs--flymake-process nil
  "The `ipvsc check' run by Flymake for this buffer.")

(defconst ipvs--diagnostic-regexp
  "^\\(.*\\):\\([0-9]+\\):\\([0-9]+\\): \\(error\\|warning\\)\\[\\([^]]*\\)\\]: \\(.*\\)$"
  "A line of `ipvsc check --format short'.
FILE:LINE:COL: error[CODE]: MESSAGE")

(defun ipvs--flymake-parse (source)
  "The diagnostics for buffer SOURCE in ipvsc's output, the current buffer.
A problem in another file (an included one) is shown on the first line."
  (let (diagnostics)
    (goto-char (point-min))
    (while (re-search-forward ipvs--diagnostic-regexp nil t)
      (let* ((file (match-string 1))
             (line (string-to-number (match-string 2)))
             (col (string-to-number (match-string 3)))
             (type (if (equal (match-string 4) "error") :error :warning))
             (code (match-string 5))
             (message (match-string 6))
             (here (equal file "<stdin>"))
             (region (if here
                         (flymake-diag-region source line col)
                       (flymake-diag-region source 1)))
             (text (if here
                       (format "%s [%s]" message code)
                     (format "%s:%d:%d: %s [%s]" file line col message code))))
        (when region
          (push (flymake-make-diagnostic source (car region) (cdr region) type text)
                diagnostics))))
    (nreverse diagnostics)))

(defun ipvs-flymake (report-fn &rest _args)
  "Flymake backend: `ipvsc check --format short -' on the buffer.
Its diagnostics go to REPORT-FN.  Includes are read relative to the
buffer's file."
  (unless (executable-find ipvs-ipvsc-program)
    (error "Cannot find the ipvsc program `%s'" ipvs-ipvsc-program))
  (when (process-live-p ipvs--flymake-process)
    (kill-process ipvs--flymake-process))
  (let* ((source (current-buffer))
         (default-directory (if buffer-file-name
                                (file-name-directory buffer-file-name)
                              default-directory))
         (process
          (make-process
           :name "ipvsc-flymake"
           :noquery t
           :connection-type 'pipe
           :buffer (generate-new-buffer " *ipvsc-flymake*")
           :command (list ipvs-ipvsc-program "check" "--format" "short" "-")
           :sentinel
           (lambda (proc _event)
             (when (memq (process-status proc) '(exit signal))
               (unwind-protect
                   (if (eq proc (buffer-local-value 'ipvs--flymake-process source))
                       (with-current-buffer (process-buffer proc)
                         (funcall report-fn (ipvs--flymake-parse source)))
                     (flymake-log :warning "Canceling obsolete check %s" proc))
                 (kill-buffer (process-buffer proc))))))))
    (setq ipvs--flymake-process process)
    (save-restriction
      (widen)
      (process-send-region process (point-min) (point-max))
      (process-send-eof process))))

;;;###autoload
(define-derived-mode ipvs-mode prog-mode "IPVS"
  "Major mode for ipvsc configuration files (*.ipvs).
\\{ipvs-mode-map}"
  :syntax-table ipvs-mode-syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "#+[ \t]*")
  (setq-local comment-end "")
  (setq-local font-lock-defaults '(ipvs-mode-font-lock-keywords))
  (setq-local indent-line-function #'ipvs-indent-line)
  (setq-local indent-tabs-mode nil)
  (add-hook 'flymake-diagnostic-functions #'ipvs-flymake nil t))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.ipvs\\'" . ipvs-mode))

(provide 'ipvs-mode)

;;; ipvs-mode.el ends here
