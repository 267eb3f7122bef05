;;; ipvs-mode-tests.el --- ERT tests of ipvs-mode  -*- lexical-binding: t; -*-

;; Run by editors/test.sh:
;;   emacs --batch -Q -L editors/emacs -l editors/emacs/ipvs-mode-tests.el \
;;     -f ert-run-tests-batch-and-exit
;; The Flymake tests run `ipvsc' from PATH, or the program named by $IPVSC.

;;; Code:

(require 'ert)
(require 'ipvs-mode)

;; Only ipvs-mode's backend: the legacy one complains that it has nothing to run.
(remove-hook 'flymake-diagnostic-functions #'flymake-proc-legacy-flymake)

(defconst ipvs-test-directory
  (file-name-directory (or load-file-name buffer-file-name)))

(defconst ipvs-test-sample
  "# A web farm. TODO: more
define vip = 207.175.44.110
include \"common.ipvs\"
timeouts { tcp 15m; tcpfin 2m }
defense { drop_entry auto }
sysctl { sync_threshold 3 50; conntrack on }
sync master { interface eth1; port 8848 }
service tcp $vip:80 {
    scheduler sh fallback flag-2
    persistent 30m netmask /24
    pe sip; one-packet
    server 10.0.0.2-10.0.0.5:8080 weight 5 # server in a comment
    server 2001:db8::9 forward tunnel gue port 6080 remcsum
}
")

(defmacro ipvs-test-with-buffer (text &rest body)
  "Run BODY in a temporary `ipvs-mode' buffer holding TEXT, fontified."
  (declare (indent 1))
  `(with-temp-buffer
     (insert ,text)
     (ipvs-mode)
     (font-lock-ensure)
     (goto-char (point-min))
     ,@body))

(defun ipvs-test-face (needle &optional offset)
  "The face OFFSET characters into the first NEEDLE after point; point moves past it."
  (search-forward needle)
  (get-text-property (+ (match-beginning 0) (or offset 0)) 'face))

(defun ipvs-test-program ()
  "The ipvsc program the tests run."
  (or (getenv "IPVSC") "ipvsc"))

(ert-deftest ipvs-mode-opens-ipvs-files ()
  (should (eq (assoc-default "/etc/lb/web.ipvs" auto-mode-alist #'string-match) 'ipvs-mode)))

(ert-deftest ipvs-mode-highlights-the-language ()
  (ipvs-test-with-buffer ipvs-test-sample
    (should (eq (ipvs-test-face "# A web") 'font-lock-comment-delimiter-face))
    (should (eq (ipvs-test-face "farm") 'font-lock-comment-face))
    (should (eq (ipvs-test-face "define") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "vip") 'font-lock-variable-name-face))
    (should (eq (ipvs-test-face "common") 'font-lock-string-face))
    (should (eq (ipvs-test-face "timeouts") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "tcp") 'font-lock-type-face))
    (should (eq (ipvs-test-face "tcpfin") 'font-lock-builtin-face))
    (should (eq (ipvs-test-face "drop_entry") 'font-lock-builtin-face))
    (should (eq (ipvs-test-face "auto") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "sync_threshold") 'font-lock-builtin-face))
    (should (eq (ipvs-test-face "conntrack") 'font-lock-builtin-face))
    (should (eq (ipvs-test-face "on") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "sync ") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "master") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "interface") 'font-lock-builtin-face))
    (should (eq (ipvs-test-face "port") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "service") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "tcp") 'font-lock-type-face))
    (should (eq (ipvs-test-face "$vip") 'font-lock-variable-name-face))
    (should (eq (ipvs-test-face "scheduler") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "sh") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "fallback") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "flag-2" 5) 'font-lock-constant-face))
    (should (eq (ipvs-test-face "persistent") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "netmask") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "sip") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "one-packet" 4) 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "server") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "weight") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "server in") 'font-lock-comment-face))
    (should (eq (ipvs-test-face "forward") 'font-lock-keyword-face))
    (should (eq (ipvs-test-face "tunnel") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "gue") 'font-lock-constant-face))
    (should (eq (ipvs-test-face "remcsum") 'font-lock-constant-face))))

(ert-deftest ipvs-mode-leaves-other-words-alone ()
  (ipvs-test-with-buffer "service tcp 10.0.0.1:80 { servers 1; sync_thing; $weight }\n"
    (should (eq (ipvs-test-face "service") 'font-lock-keyword-face))
    (should-not (ipvs-test-face "10.0.0.1"))
    (should-not (ipvs-test-face "servers"))
    (should-not (ipvs-test-face "sync_thing"))
    (should (eq (ipvs-test-face "weight") 'font-lock-variable-name-face))))

(ert-deftest ipvs-mode-comments ()
  (ipvs-test-with-buffer "service tcp 10.0.0.1:80 { # a { brace\n    scheduler rr\n}\n"
    (search-forward "brace")
    (should (nth 4 (syntax-ppss)))
    (forward-line 1)
    (should-not (nth 4 (syntax-ppss)))
    ;; The brace in the comment opens nothing.
    (should (= (car (syntax-ppss)) 1))
    (should (equal comment-start "# "))
    (comment-region (line-beginning-position) (line-end-position))
    (should (equal (buffer-substring (line-beginning-position) (line-end-position))
                   "    # scheduler rr"))))

(ert-deftest ipvs-mode-indents-blocks ()
  (let ((expected "# indentation
service tcp 10.0.0.1:80 {
    scheduler wlc   # {
    server 10.0.0.2 weight 3 \\
        upper 100
    server 10.0.0.3
}
service fwmark 1 { scheduler rr }
sync master {
    interface eth0
}
"))
    (ipvs-test-with-buffer (replace-regexp-in-string "^[ \t]+" "" expected)
      (indent-region (point-min) (point-max))
      (should (equal (buffer-string) expected)))))

(defun ipvs-test-flymake (text)
  "The diagnostics the Flymake backend reports for TEXT, as (LINE COL TYPE TEXT)."
  (let ((ipvs-ipvsc-program (ipvs-test-program))
        (reported :none))
    (with-temp-buffer
      (insert text)
      (ipvs-mode)
      (ipvs-flymake (lambda (diagnostics &rest _) (setq reported diagnostics)))
      (with-timeout (20 (error "No report from ipvsc check within 20 s"))
        (while (eq reported :none)
          (accept-process-output nil 0.05)))
      (mapcar (lambda (d)
                (let ((beg (flymake-diagnostic-beg d)))
                  (list (line-number-at-pos beg)
                        (save-excursion (goto-char beg) (1+ (current-column)))
                        (flymake-diagnostic-type d)
                        (flymake-diagnostic-text d))))
              reported))))

(ert-deftest ipvs-mode-flymake-reports-ipvsc-check ()
  (should (equal (ipvs-test-flymake
                  (with-temp-buffer
                    (insert-file-contents (expand-file-name "../vim/test/errors.ipvs"
                                                            ipvs-test-directory))
                    (buffer-string)))
                 '((4 21 :error "unknown server option `wieght` [unknown-keyword]")
                   (5 13 :warning "a netmask without persistence has no effect [netmask-without-persistence]")
                   (7 27 :error "unknown service statement `schedular` [unknown-keyword]")))))

(ert-deftest ipvs-mode-flymake-clean-file ()
  (should (equal (ipvs-test-flymake "service tcp 10.0.0.1:80 { server 10.0.0.2 }\n") nil)))

(ert-deftest ipvs-mode-flymake-mode-shows-the-diagnostics ()
  (let ((ipvs-ipvsc-program (ipvs-test-program)))
    (with-temp-buffer
      (insert "service tcp 10.0.0.1:80 {\n    schedular rr\n}\n")
      (ipvs-mode)
      (flymake-mode 1)
      (flymake-start)
      (with-timeout (20 (error "No Flymake diagnostics within 20 s"))
        (while (null (flymake-diagnostics))
          (accept-process-output nil 0.05)))
      (let ((d (car (flymake-diagnostics))))
        (should (= (line-number-at-pos (flymake-diagnostic-beg d)) 2))
        (should (string-match-p "schedular" (flymake-diagnostic-text d)))))))

(provide 'ipvs-mode-tests)

;;; ipvs-mode-tests.el ends here
